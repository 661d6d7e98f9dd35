package scripts

import (
	"strings"
	"testing"
)

func TestBundledLibraryLoads(t *testing.T) {
	lib, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	if lib["ccm-monthly"] == nil {
		t.Fatalf("library has %v, want ccm-monthly", lib.IDs())
	}
	for id, s := range lib {
		if !s.Speaks(English) || !s.Speaks(Spanish) {
			t.Errorf("%s does not speak both English and Spanish", id)
		}
	}
}

const goodScript = `id: test
schedule: "0 10 1 * *"
languages: [en]
expire_after: 2d
intro: {en: Hi}
closing: {en: Bye}
questions:
  - id: q1
    type: yesno
    text: {en: "OK?"}
`

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"good", "", ""},
		{"unknown key", "colour: blue\n", "x.yaml:11: unknown key \"colour\" in the script"},
		{"bad schedule", strings.Replace(goodScript, `"0 10 1 * *"`, `"61 10 1 * *"`, 1), "x.yaml:2: schedule \"61 10 1 * *\" is not a five-field cron spec"},
		{"zone in schedule", strings.Replace(goodScript, `"0 10 1 * *"`, `"CRON_TZ=UTC 0 10 1 * *"`, 1), "must not name a zone"},
		{"bare CRON_TZ", strings.Replace(goodScript, `"0 10 1 * *"`, `"CRON_TZ=UTC"`, 1), "must not name a zone"},
		{"missing language text", strings.Replace(goodScript, "languages: [en]", "languages: [en, es]", 1), "x.yaml:5: intro has no es text"},
		{"bad type", strings.Replace(goodScript, "type: yesno", "type: essay", 1), "x.yaml:9: type \"essay\" is not one of"},
		{"number without range", strings.Replace(goodScript, "type: yesno", "type: number", 1), "x.yaml:8: question q1: a number question needs min and max"},
		{"skip_if unknown question", goodScript + "    skip_if: {question: q0, equals: \"yes\"}\n", "x.yaml:11: question q1: skip_if names \"q0\", which is not an earlier question"},
		{"escalation misfit", goodScript + "    escalate:\n      - when: {gt: 3}\n        severity: high\n        reason: x\n", "x.yaml:12: question q1 is yes/no: test it with equals"},
		{"bad severity", goodScript + "    escalate:\n      - when: {equals: \"yes\"}\n        severity: panic\n        reason: x\n", "x.yaml:13: severity \"panic\" is not urgent, high or routine"},
		{"reminder after expiry", strings.Replace(goodScript, "expire_after: 2d", "expire_after: 2d\nreminder_after: 3d", 1), "x.yaml:5: reminder_after must be shorter than expire_after"},
		{"reminder off", strings.Replace(goodScript, "expire_after: 2d", "expire_after: 2d\nreminder_after: 0s", 1), "x.yaml:5: reminder_after: \"0s\" is not a duration"},
		{"not yaml", "id: [unclosed\n", "x.yaml:1: not valid YAML"},
		{"alias", "id: &a x\nname: *a\n", "x.yaml:2: YAML aliases (*a) are not supported"},
		{"duplicate question", goodScript + "  - id: q1\n    type: yesno\n    text: {en: again}\n", "x.yaml:11: question id \"q1\" is used twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.edit
			if !strings.HasPrefix(src, "id:") {
				src = goodScript + tt.edit
			}
			s, err := Parse("x.yaml", []byte(src))
			if tt.want == "" {
				if err != nil || s == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant %q", err, tt.want)
			}
			if s != nil {
				t.Error("a script with problems was returned")
			}
		})
	}
}
