module emlab

go 1.26
