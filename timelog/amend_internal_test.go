package timelog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/errkind"
)

func ptr[T any](v T) *T { return &v }

var (
	nyc   = mustZone("America/New_York")
	start = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) // 10:00 EST
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestEndOf(t *testing.T) {
	tests := []struct {
		name             string
		ended            *time.Time
		minutes, seconds *int64
		want             time.Time // zero: none given
		field, msg       string
	}{
		{"nothing", nil, nil, nil, time.Time{}, "", ""},
		{"ended_at", ptr(start.Add(20 * time.Minute)), nil, nil, start.Add(20 * time.Minute), "", ""},
		{"minutes", nil, ptr[int64](15), nil, start.Add(15 * time.Minute), "", ""},
		{"seconds", nil, nil, ptr[int64](421), start.Add(421 * time.Second), "", ""},
		{"seconds agree with ended_at", ptr(start.Add(900 * time.Second)), nil, ptr[int64](900), start.Add(900 * time.Second), "", ""},
		{"whole seconds of a fractional length", ptr(start.Add(900*time.Second + 700*time.Millisecond)), nil, ptr[int64](900), start.Add(900*time.Second + 700*time.Millisecond), "", ""},
		{"rounded seconds of a fractional length", ptr(start.Add(900*time.Second + 700*time.Millisecond)), nil, ptr[int64](901), start.Add(900*time.Second + 700*time.Millisecond), "", ""},
		{"seconds disagree with ended_at", ptr(start.Add(900 * time.Second)), nil, ptr[int64](1200), time.Time{}, "seconds", "seconds 1200 does not agree with started_at 2026-03-02T15:00:00Z and ended_at 2026-03-02T15:15:00Z, which are 15m0s apart"},
		{"a second off", ptr(start.Add(900 * time.Second)), nil, ptr[int64](901), time.Time{}, "seconds", "does not agree"},
		{"minutes and ended_at", ptr(start.Add(time.Minute)), ptr[int64](1), nil, time.Time{}, "minutes", "give ended_at or minutes, not both"},
		{"minutes and seconds", nil, ptr[int64](1), ptr[int64](60), time.Time{}, "minutes", "give seconds or minutes, not both"},
		{"no seconds", nil, nil, ptr[int64](0), time.Time{}, "seconds", "seconds 0 is not from 1 to 43200"},
		{"too many minutes", nil, ptr[int64](721), nil, time.Time{}, "minutes", "minutes 721 is not from 1 to 720"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, given, fe := endOf(start, tt.ended, tt.minutes, tt.seconds)
			switch {
			case tt.field != "":
				if fe == nil || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
					t.Errorf("error = %+v, want %q on %s", fe, tt.msg, tt.field)
				}
			case fe != nil:
				t.Errorf("error = %v", fe)
			case given != !tt.want.IsZero() || !end.Equal(tt.want):
				t.Errorf("end = %v (given %v), want %v", end, given, tt.want)
			}
		})
	}
}

func TestPatchApply(t *testing.T) {
	cur := Draft{Patients: []string{"P1"}, Staff: "RN1", Program: care.CCM, StartedAt: start,
		EndedAt: start.Add(20 * time.Minute), Activity: "patient_call", Note: "BP review",
		Changed: "no_change", MDM: "none"}
	later := start.Add(10 * time.Minute)
	tests := []struct {
		name  string
		patch Patch
		edit  func(*Draft)
		msg   string
	}{
		{"nothing", Patch{}, func(*Draft) {}, ""},
		{"minutes from the start", Patch{Minutes: ptr[int64](25)}, func(d *Draft) { d.EndedAt = start.Add(25 * time.Minute) }, ""},
		{"note", Patch{Note: ptr("BP and meds review")}, func(d *Draft) { d.Note = "BP and meds review" }, ""},
		{"start alone keeps the end", Patch{StartedAt: &later}, func(d *Draft) { d.StartedAt = later }, ""},
		{"start and minutes", Patch{StartedAt: &later, Minutes: ptr[int64](20)}, func(d *Draft) { d.StartedAt, d.EndedAt = later, later.Add(20*time.Minute) }, ""},
		{"seconds from the new start", Patch{StartedAt: &later, Seconds: ptr[int64](60)}, func(d *Draft) { d.StartedAt, d.EndedAt = later, later.Add(time.Minute) }, ""},
		{"patients", Patch{Patients: []string{"P1", "P2"}}, func(d *Draft) { d.Patients = []string{"P1", "P2"} }, ""},
		{"no patients", Patch{Patients: []string{}}, func(d *Draft) { d.Patients = []string{} }, ""},
		{"everything else", Patch{Staff: ptr("MD1"), Program: ptr(care.RPM), Activity: ptr[Activity]("data_review"),
			Changed: ptr[Change]("decision"), MDM: ptr[MDM]("low"), Interactive: ptr(true)}, func(d *Draft) {
			d.Staff, d.Program, d.Activity, d.Changed, d.MDM, d.Interactive = "MD1", care.RPM, "data_review", "decision", "low", true
		}, ""},
		{"seconds against the end", Patch{EndedAt: ptr(start.Add(15 * time.Minute)), Seconds: ptr[int64](1200)}, nil, "seconds 1200 does not agree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := tt.patch.Apply(cur)
			if tt.msg != "" {
				if len(errs) != 1 || !strings.Contains(errs[0].Msg, tt.msg) {
					t.Errorf("errors = %v, want %q", errs, tt.msg)
				}
				return
			}
			want := cur
			want.Patients = append([]string(nil), cur.Patients...)
			tt.edit(&want)
			if len(errs) > 0 || !same(got, want) || len(got.Patients) != len(want.Patients) {
				t.Errorf("Apply = %+v, %v\nwant %+v", got, errs, want)
			}
		})
	}
	if cur.Patients[0] != "P1" || len(cur.Patients) != 1 {
		t.Errorf("Apply changed the current draft: %+v", cur)
	}
}

func TestSame(t *testing.T) {
	a := Draft{Patients: []string{"P1", "P2"}, Staff: "RN1", Program: care.CCM, StartedAt: start, EndedAt: start.Add(time.Hour)}
	b := a
	b.Patients = []string{"P2", "P1"}
	b.StartedAt = start.In(nyc)
	if !same(a, b) {
		t.Error("the same facts (patients in another order, the start in another zone) differ")
	}
	for name, edit := range map[string]func(*Draft){
		"patients":    func(d *Draft) { d.Patients = []string{"P1"} },
		"end":         func(d *Draft) { d.EndedAt = d.EndedAt.Add(time.Second) },
		"note":        func(d *Draft) { d.Note = "x" },
		"interactive": func(d *Draft) { d.Interactive = true },
		"mdm":         func(d *Draft) { d.MDM = "low" },
	} {
		c := a
		edit(&c)
		if same(a, c) {
			t.Errorf("drafts that differ in %s are the same", name)
		}
	}
}

func TestWhyNotCurrent(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 3, 20, h, 0, 0, 0, time.UTC) }
	e5 := version{ID: 5, CreatedAt: at(12)}
	amended6 := version{ID: 6, Supersedes: ptr[EntryID](5), CreatedAt: at(13)}
	voided6 := version{ID: 6, Supersedes: ptr[EntryID](5), Voided: true, CreatedAt: at(13)}
	amended7 := version{ID: 7, Supersedes: ptr[EntryID](6), CreatedAt: at(14)}
	voided7 := version{ID: 7, Supersedes: ptr[EntryID](6), Voided: true, CreatedAt: at(14)}
	tests := []struct {
		name  string
		verb  string
		trail []version
		want  string
	}{
		{"current", "amend", []version{e5}, ""},
		{"amend an amended entry", "amend", []version{e5, amended6}, "time entry 5 was already amended by entry 6 on 2026-03-20 09:00 EDT: amend that one"},
		{"void an amended entry", "void", []version{e5, amended6}, "time entry 5 was already amended by entry 6 on 2026-03-20 09:00 EDT: void that one"},
		{"amended twice", "amend", []version{e5, amended6, amended7}, "time entry 5 was already amended by entry 6 on 2026-03-20 09:00 EDT; the current version is entry 7: amend that one"},
		{"void twice", "void", []version{e5, voided6}, "time entry 5 is already voided: entry 6 voided it on 2026-03-20 09:00 EDT"},
		{"amend a voided entry", "amend", []version{e5, voided6}, "time entry 5 was voided and cannot be amended (entry 6 voided it on 2026-03-20 09:00 EDT); record a new entry instead"},
		{"void an entry whose amendment was voided", "void", []version{e5, amended6, voided7}, "time entry 5 is already voided: entry 6 amended it on 2026-03-20 09:00 EDT, and entry 7 voided the amended entry on 2026-03-20 10:00 EDT"},
		{"void a void", "void", []version{voided6}, "time entry 6 is itself a void: it voided entry 5 on 2026-03-20 09:00 EDT"},
		{"amend a void", "amend", []version{voided6}, "time entry 6 is a void (of entry 5, on 2026-03-20 09:00 EDT) and cannot be amended; record a new entry instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := whyNotCurrent(tt.verb, tt.trail, nyc)
			if tt.want == "" {
				if err != nil {
					t.Errorf("error = %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want || !errors.Is(err, errkind.ErrConflict) {
				t.Errorf("error = %v\nwant conflict %q", err, tt.want)
			}
		})
	}
}
