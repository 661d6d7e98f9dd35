package outreach

import "testing"

func TestClassifyKeyword(t *testing.T) {
	tests := []struct {
		body string
		want Keyword
	}{
		{"STOP", KeywordStop}, {"stop", KeywordStop}, {"Stop.", KeywordStop}, {"  STOP!! ", KeywordStop},
		{"stop 🛑", KeywordStop}, {"StopAll", KeywordStop}, {"STOP ALL", KeywordStop}, {"unsubscribe", KeywordStop},
		{"Cancel", KeywordStop}, {"END", KeywordStop}, {"quit!", KeywordStop}, {"REVOKE", KeywordStop},
		{"optout", KeywordStop}, {"Opt-Out", KeywordStop}, {"PARAR", KeywordStop}, {"Baja", KeywordStop}, {"Ayuda", KeywordHelp}, {"opt out", KeywordStop},
		{"START", KeywordStart}, {"unstop", KeywordStart}, {"Start.", KeywordStart},
		{"HELP", KeywordHelp}, {"help?", KeywordHelp}, {"Info", KeywordHelp},
		{"YES", KeywordYes}, {"yes!", KeywordYes},
		{"please don't stop my meds", NoKeyword}, {"stop the swelling", NoKeyword}, {"my pressure is high, alto", NoKeyword},
		{"I need help", NoKeyword}, {"", NoKeyword}, {"2", NoKeyword}, {"sí", NoKeyword},
	}
	for _, tt := range tests {
		if got := ClassifyKeyword(tt.body); got != tt.want {
			t.Errorf("ClassifyKeyword(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}
