package report

// claims.go: the claims table that opens the report and the sections the
// claims studies contribute (each with its own plots, lines and tables).

// Verdicts a claim can get.
const (
	VerdictSupported    = "supported"
	VerdictNotSupported = "not supported here"
	VerdictInconclusive = "inconclusive"
)

// SecClaims is the claims table's section id.
const SecClaims = "claims"

// Claim is one row of the claims table: a claim the runs test, the
// experiment that tests it, the verdict and a sentence of evidence, with a
// link to the section that shows the plots.
type Claim struct {
	ID         string // the study that tested it
	Claim      string
	Experiment string
	Verdict    string // VerdictSupported, VerdictNotSupported or VerdictInconclusive
	Detail     string
	// Section is the id of the section with the claim's plots ("" when
	// the report has none).
	Section string
}

// StudySection is a claims study's own section: figures with plots, the
// sentences that read them and tables of numbers.
type StudySection struct {
	ID, Title string
	Intro     string
	Figures   []StudyFigure
	// Note is printed when the section has no figures (why not).
	Note string
}

// StudyFigure is one figure of a study section.
type StudyFigure struct {
	Caption string
	Plots   []*Plot
	Lines   []string
	Table   *Table
	Note    string
}

// Table is a plain table of text cells.
type Table struct {
	Head []string
	Rows [][]string
}
