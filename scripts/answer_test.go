package scripts

import (
	"errors"
	"testing"
)

func f(v float64) *float64 { return &v }

var (
	yesno  = &Question{ID: "q", Type: YesNo}
	weight = &Question{ID: "w", Type: Number, Min: f(50), Max: f(700), Unit: "lb"}
	scale  = &Question{ID: "s", Type: Scale}
	bp     = &Question{ID: "bp", Type: BloodPressure}
	meds   = &Question{ID: "m", Type: Choice, Choices: []Option{
		{Value: "all", Label: Text{English: "Yes, all of them", Spanish: "Sí, todas"}, Aliases: map[Language][]string{English: {"all"}, Spanish: {"todas"}}},
		{Value: "missed", Label: Text{English: "I missed some", Spanish: "Olvidé algunas"}, Aliases: map[Language][]string{English: {"missed", "forgot"}, Spanish: {"olvidé"}}},
		{Value: "stopped", Label: Text{English: "I stopped one", Spanish: "Dejé una"}, Aliases: map[Language][]string{English: {"stopped"}, Spanish: {"dejé"}}},
	}}
	note = &Question{ID: "t", Type: FreeText}
)

// TestParseCorpus reads replies as patients really write them; "" means re-ask.
func TestParseCorpus(t *testing.T) {
	tests := []struct {
		q     *Question
		reply string
		want  string
	}{
		// yes/no, any case, punctuation, emoji, both languages, extra words
		{yesno, "yes", "yes"}, {yesno, "Y", "yes"}, {yesno, "YES!!!", "yes"}, {yesno, "yep", "yes"},
		{yesno, "Yeah", "yes"}, {yesno, "yup.", "yes"}, {yesno, "sí", "yes"}, {yesno, "Si", "yes"},
		{yesno, "SÍ", "yes"}, {yesno, "1", "yes"}, {yesno, "👍", "yes"}, {yesno, "✅", "yes"},
		{yesno, "ok", "yes"}, {yesno, "yes I did", "yes"}, {yesno, "Yes, but my ankles are swollen", "yes"},
		{yesno, "claro que sí", "yes"}, {yesno, " yes ", "yes"},
		{yesno, "no", "no"}, {yesno, "N", "no"}, {yesno, "nope", "no"}, {yesno, "Nah", "no"},
		{yesno, "No, not today", "no"}, {yesno, "not really", "no"}, {yesno, "2", "no"}, {yesno, "👎", "no"},
		{yesno, "no gracias", "no"}, {yesno, "NO.", "no"},
		{yesno, "maybe", ""}, {yesno, "not sure", ""}, {yesno, "I don't know", ""}, {yesno, "yes and no", ""},
		{yesno, "no sé", ""}, {yesno, "tal vez", ""}, {yesno, "sometimes", ""}, {yesno, "what?", ""},
		{yesno, "", ""}, {yesno, "🙂", ""}, {yesno, "call me", ""},
		// numbers: digits, words, units, decimals, out of range, several numbers
		{weight, "182", "182"}, {weight, "182 lbs", "182"}, {weight, "I weigh 182.4 today", "182.4"},
		{weight, "182,5", "182.5"}, {weight, "one hundred eighty two", "182"}, {weight, "ciento ochenta y dos", "182"},
		{weight, "doscientos diez", "210"}, {weight, "two hundred", "200"},
		{weight, "a hundred and eighty two", "182"}, {weight, "hundred and twenty", "120"},
		{weight, "1820", ""}, {weight, "12", ""}, {weight, "180 or 185", ""}, {weight, "heavy", ""}, {weight, "-", ""},
		{weight, "180 180", "180"},
		// scale 0-10
		{scale, "7", "7"}, {scale, "7/10", "7"}, {scale, "8 out of 10", "8"}, {scale, "seven", "7"},
		{scale, "siete", "7"}, {scale, "0", "0"}, {scale, "10", "10"}, {scale, "I'd say a 6", "6"},
		{scale, "11", ""}, {scale, "6.5", ""}, {scale, "5 or 6", ""}, {scale, "good", ""},
		// blood pressure
		{bp, "150/95", "150/95"}, {bp, "150 / 95", "150/95"}, {bp, "150 over 95", "150/95"},
		{bp, "BP 132/84 this morning", "132/84"}, {bp, "150-95", "150/95"}, {bp, "150 sobre 95", "150/95"},
		{bp, "95/150", ""}, {bp, "150", ""}, {bp, "150/95 and 140/90", ""}, {bp, "400/95", ""},
		// choices by number, value, label, alias, either language
		{meds, "1", "all"}, {meds, "2", "missed"}, {meds, "3.", "stopped"}, {meds, "All of them", "all"},
		{meds, "I forgot a few", "missed"}, {meds, "olvidé algunas", "missed"}, {meds, "todas", "all"},
		{meds, "4", ""}, {meds, "all but I stopped one", ""}, {meds, "hmm", ""},
		// free text keeps what was written
		{note, "My ankles are swollen", "My ankles are swollen"}, {note, "  ", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.q.Type)+"/"+tt.reply, func(t *testing.T) {
			a, err := tt.q.Parse(tt.reply)
			if tt.want == "" {
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Hint.In(English) == "" || pe.Hint.In(Spanish) == "" {
					t.Errorf("Parse(%q) = %+v, %v; want a re-ask with a hint", tt.reply, a, err)
				}
				return
			}
			if err != nil || a.Value != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q", tt.reply, a.Value, err, tt.want)
			}
		})
	}
}

func TestEmergency(t *testing.T) {
	for _, s := range []string{"my chest hurts", "CHEST PAIN!!", "I can't breathe", "cant breathe well",
		"me duele el pecho", "No puedo respirar", "I want to die", "quiero morir", "having a heart attack?"} {
		if !Emergency(s) {
			t.Errorf("Emergency(%q) = false", s)
		}
	}
	for _, s := range []string{"yes", "no chest", "breathing is fine", "7", "150/95", "I feel great", "painting the house"} {
		if Emergency(s) {
			t.Errorf("Emergency(%q) = true", s)
		}
	}
}

func TestEscalation(t *testing.T) {
	q := &Question{ID: "bp", Type: BloodPressure, Escalate: []Rule{
		{When: Condition{Field: "systolic", Gte: f(160)}, Severity: High, Reason: "high"},
		{When: Condition{Field: "systolic", Gte: f(180)}, Severity: Urgent, Reason: "crisis"},
		{When: Condition{Field: "diastolic", Gte: f(120)}, Severity: Urgent, Reason: "crisis"},
	}}
	for _, tt := range []struct {
		reply string
		want  Severity
	}{{"150/95", ""}, {"165/95", High}, {"185/95", Urgent}, {"150/125", Urgent}} {
		a, err := q.Parse(tt.reply)
		if err != nil {
			t.Fatal(err)
		}
		r := q.Escalation(English, a)
		got := Severity("")
		if r != nil {
			got = r.Severity
		}
		if got != tt.want {
			t.Errorf("%s escalates %q, want %q", tt.reply, got, tt.want)
		}
	}
	text := &Question{ID: "t", Type: FreeText, Escalate: []Rule{{When: Condition{ContainsAny: map[Language][]string{English: {"fever"}, Spanish: {"fiebre"}}}, Severity: High}}}
	for reply, want := range map[string]bool{"I have a fever": true, "tengo fiebre": true, "Fever!": true, "all fine": false} {
		if got := text.Escalation(Spanish, Answer{Value: reply}) != nil; got != want {
			t.Errorf("%q escalates %v, want %v", reply, got, want)
		}
	}
}
