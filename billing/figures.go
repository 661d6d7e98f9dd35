package billing

import (
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// programCodes lists the codes the engine bills, by the program whose rows carry them, in
// report order: the label values of the month figures, each shown from 0.
var programCodes = []struct {
	program care.Program
	codes   []Code
}{
	{care.CCM, ccmCodes},
	{care.RPM, append([]Code{Code99457, Code99458, Code99470}, DeviceCodes()...)},
	{care.BHI, []Code{Code99484}},
	{care.PCM, []Code{Code99424, Code99425, Code99426, Code99427}},
	{care.G0506, []Code{CodeG0506}},
}

// NearWithin is how many minutes short of its next code a row counts as near it in the figures.
const NearWithin = 10

// Figure is what a month's report says of one program and code: the patients billed at the
// code, those near it as their next code (within NearWithin minutes, or short of days of device
// data), and what the code is worth in the month so far.
type Figure struct {
	Program  care.Program
	Code     Code
	Patients int
	NearNext int
	Cents    int64
}

// MonthFigures sums a month's report at now into one figure per program and code the engine
// bills, in programCodes order, 0 for those nobody reached. Whether a row is near its next code
// depends on now as the worklist does (none once the month has ended).
func MonthFigures(rep Report, now time.Time, loc *time.Location) []Figure {
	var out []Figure
	at := map[care.Program]map[Code]int{}
	add := func(p care.Program, c Code) *Figure {
		if at[p] == nil {
			at[p] = map[Code]int{}
		}
		i, ok := at[p][c]
		if !ok {
			i = len(out)
			at[p][c] = i
			out = append(out, Figure{Program: p, Code: c})
		}
		return &out[i]
	}
	for _, pc := range programCodes {
		for _, c := range pc.codes {
			add(pc.program, c)
		}
	}
	for _, r := range rep.Rows {
		for _, cl := range r.Codes {
			f := add(r.Program, cl.Code)
			f.Patients++
			f.Cents += cl.AmountCents
		}
	}
	for _, w := range Worklist(rep, now, loc, NearWithin) {
		add(w.Program, w.Code).NearNext++
	}
	return out
}
