module emlab

go 1.26

require (
	github.com/mmcloughlin/avo v0.5.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)
