package scripts

import (
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds any reply to every question of the bundled scripts: parsing never panics,
// and an answer it returns is well formed.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"yes", "Y", "2", "sí", "my chest hurts", "150/95", "one hundred and five",
		"7/10", "👍", "", "   ", "\x00", "\xff\xfe", "1e308", "-0", "999999999999999999999", "NaN", "Inf", "½",
		"150 over 95", "yes and no", "🤒🤒🤒", "١٢٣"} {
		f.Add(seed)
	}
	lib, err := Bundled()
	if err != nil {
		f.Fatal(err)
	}
	var questions []*Question
	for _, id := range lib.IDs() {
		questions = append(questions, lib[id].Questions...)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		Emergency(reply)
		for _, q := range questions {
			a, err := q.Parse(reply)
			if err != nil {
				if _, ok := err.(*ParseError); !ok {
					t.Fatalf("%s: %q: error of type %T", q.ID, reply, err)
				}
				continue
			}
			if q.Type != FreeText && (a.Value == "" || !utf8.ValidString(a.Value)) {
				t.Fatalf("%s: %q read as %q", q.ID, reply, a.Value)
			}
			for _, l := range []Language{English, Spanish} {
				q.Escalation(l, a)
			}
		}
	})
}
