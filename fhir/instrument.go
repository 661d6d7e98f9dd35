package fhir

// instrument is a scored instrument a bundled script asks: the LOINC codes of the panel, its
// items and answers, each answer's score, and the total a clinician reads.
type instrument struct {
	panel   Coding
	items   map[string]Coding // the script's question id → the item's LOINC code
	scored  []string          // the questions the total adds up, in order
	answers map[string]answer // a choice value → its LOINC answer and score
	total   Coding            // the total score's LOINC code
	totalID string            // the total's linkId
}

// answer is a scored answer of an instrument.
type answer struct {
	code  Coding
	score int
}

// frequency is the PHQ answer list (LOINC LL358-3): how often over the last two weeks, scored 0
// to 3.
var frequency = map[string]answer{
	"not_at_all":       {Coding{System: systemLOINC, Code: "LA6568-5", Display: "Not at all"}, 0},
	"several_days":     {Coding{System: systemLOINC, Code: "LA6569-3", Display: "Several days"}, 1},
	"more_than_half":   {Coding{System: systemLOINC, Code: "LA6570-1", Display: "More than half the days"}, 2},
	"nearly_every_day": {Coding{System: systemLOINC, Code: "LA6571-9", Display: "Nearly every day"}, 3},
}

// difficulty is the answer list of the PHQ-9's last question, which is not scored.
var difficulty = map[string]answer{
	"not_difficult":       {Coding{System: systemLOINC, Code: "LA6572-7", Display: "Not difficult at all"}, 0},
	"somewhat_difficult":  {Coding{System: systemLOINC, Code: "LA6573-5", Display: "Somewhat difficult"}, 1},
	"very_difficult":      {Coding{System: systemLOINC, Code: "LA6575-0", Display: "Very difficult"}, 2},
	"extremely_difficult": {Coding{System: systemLOINC, Code: "LA6574-3", Display: "Extremely difficult"}, 3},
}

func loinc(code, display string) Coding {
	return Coding{System: systemLOINC, Code: code, Display: display}
}

// phqItems are the LOINC codes of the PHQ-9's questions, by the bundled scripts' question ids.
var phqItems = map[string]Coding{
	"interest":      loinc("44250-9", "Little interest or pleasure in doing things"),
	"mood":          loinc("44255-8", "Feeling down, depressed, or hopeless"),
	"sleep":         loinc("44259-0", "Trouble falling or staying asleep, or sleeping too much"),
	"energy":        loinc("44254-1", "Feeling tired or having little energy"),
	"appetite":      loinc("44251-7", "Poor appetite or overeating"),
	"self_esteem":   loinc("44258-2", "Feeling bad about yourself-or that you are a failure or have let yourself or your family down"),
	"concentration": loinc("44252-5", "Trouble concentrating on things, such as reading the newspaper or watching television"),
	"psychomotor":   loinc("44253-3", "Moving or speaking so slowly that other people could have noticed. Or the opposite-being so fidgety or restless that you have been moving around a lot more than usual"),
	"self_harm":     loinc("44260-8", "Thoughts that you would be better off dead, or of hurting yourself in some way"),
	"difficulty":    loinc("69722-7", "How difficult have these problems made it for you to do your work, take care of things at home, or get along with other people"),
}

// instruments are the scored instruments of the bundled scripts, by script id. The depression
// script's PHQ-2 is scored on its two items; its own yes/no safety question is not a PHQ item
// (nor is it scored). The PHQ-9 is scored on its nine items; the difficulty question is not.
var instruments = map[string]*instrument{
	"depression": {
		panel:   loinc("55757-9", "Patient Health Questionnaire 2 item (PHQ-2) [Reported]"),
		items:   map[string]Coding{"interest": phqItems["interest"], "mood": phqItems["mood"]},
		scored:  []string{"interest", "mood"},
		answers: frequency,
		total:   loinc("55758-7", "Patient Health Questionnaire 2 item (PHQ-2) total score [Reported]"),
		totalID: "phq2_total",
	},
	"phq9": {
		panel:   loinc("44249-1", "PHQ-9 quick depression assessment panel [Reported.PHQ]"),
		items:   phqItems,
		scored:  []string{"interest", "mood", "sleep", "energy", "appetite", "self_esteem", "concentration", "psychomotor", "self_harm"},
		answers: frequency,
		total:   loinc("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
		totalID: "phq9_total",
	},
}

// answerOf returns an instrument's coded answer for a question's choice value.
func (in *instrument) answerOf(question, value string) (answer, bool) {
	if in == nil {
		return answer{}, false
	}
	if _, ok := in.items[question]; !ok {
		return answer{}, false
	}
	if question == "difficulty" {
		a, ok := difficulty[value]
		return a, ok
	}
	a, ok := in.answers[value]
	return a, ok
}

// Score adds up an instrument's scored answers (question id → choice value); ok is false
// unless every scored question has a scored answer.
func (in *instrument) Score(values map[string]string) (total int, ok bool) {
	for _, q := range in.scored {
		a, found := in.answerOf(q, values[q])
		if !found {
			return 0, false
		}
		total += a.score
	}
	return total, true
}
