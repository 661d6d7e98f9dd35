package fhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/outreach"
)

// ImportResult says what an import of Patient and Condition resources did.
type ImportResult struct {
	outreach.PatientImport
	Conditions int      // Conditions read into patients' conditions
	Skipped    int      // Conditions left out: not active, or with no ICD-10-CM code
	Warnings   []string // what was read otherwise than sent
	// Existed holds the patients (by id) that were stored before the import.
	Existed map[string]bool
}

// csvElements name the FHIR element each column of the patients file is read from.
var csvElements = map[string]string{
	"id": "id", "first_name": "name.given", "last_name": "name.family", "phone": "telecom.value",
	"language": "communication.language", "active": "active", "chronic_conditions": "Condition.code",
}

// Import stores the patients the resources say through the patients import, with the same
// rules as a patients file: upserted by id in one transaction, all or nothing, audited, and
// recorded as an import of name. A patient's name, phone, language, active and (when any of
// their Conditions was sent) chronic conditions are set; a patient with no Condition sent keeps
// the stored ones; time zone, programs, consent and everything else are left as they are,
// and a new patient is enrolled in nothing until the practice says so.
func Import(ctx context.Context, d *sqlx.DB, name string, p Parsed, opt imports.Options) (ImportResult, error) {
	res := ImportResult{Conditions: p.Conditions, Skipped: p.Skipped, Warnings: p.Warnings}
	if len(p.Patients) == 0 {
		return res, &ElementErrors{Source: name, Errs: []ElementError{{Resource: name, Msg: "holds no Patient resource"}}}
	}
	ids := make([]string, len(p.Patients))
	for i, pr := range p.Patients {
		ids[i] = pr.ID
	}
	existing, err := patients.IDs(ctx, d, int64(opt.Practice.ID), ids)
	if err != nil {
		return res, err
	}
	res.Existed = make(map[string]bool, len(existing))
	for id := range existing {
		res.Existed[id] = true
	}
	if p.HasConditions {
		for i, pr := range p.Patients {
			if pr.ConditionsSent || !res.Existed[pr.ID] {
				continue
			}
			prof, err := outreach.LoadProfile(ctx, d, int64(opt.Practice.ID), pr.ID)
			if err != nil {
				return res, err
			}
			p.Patients[i].Conditions = prof.Conditions
		}
	}
	file, err := patientsFile(p)
	if err != nil {
		return res, err
	}
	out, err := outreach.ImportPatients(ctx, d, name, bytes.NewReader(file), opt)
	var ce csvfile.Errors
	if errors.As(err, &ce) {
		return res, fileErrors(name, p, ce)
	}
	if err != nil {
		return res, err
	}
	res.PatientImport = out
	return res, nil
}

// patientsFile writes the patients as a patients file, one row each in their order (the
// first on line 2).
func patientsFile(p Parsed) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := []string{"id", "first_name", "last_name", "phone", "language", "active"}
	if p.HasConditions {
		header = append(header, "chronic_conditions")
	}
	if err := w.Write(header); err != nil {
		return nil, fmt.Errorf("error writing the patients: %w", err)
	}
	for _, pr := range p.Patients {
		row := []string{pr.ID, pr.FirstName, pr.LastName, pr.Phone, pr.Language, strconv.FormatBool(pr.Active)}
		if p.HasConditions {
			row = append(row, strings.Join(pr.Conditions, ";"))
		}
		if err := w.Write(row); err != nil {
			return nil, fmt.Errorf("error writing the patients: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("error writing the patients: %w", err)
	}
	return b.Bytes(), nil
}

// fileErrors names the resource and element of each error the patients import found.
func fileErrors(name string, p Parsed, ce csvfile.Errors) error {
	out := &ElementErrors{Source: name}
	for _, e := range ce {
		resource := name
		if i := e.Line - 2; i >= 0 && i < len(p.Patients) {
			resource = p.Patients[i].Label
		}
		msg := e.Msg
		if e.Column != "" {
			msg = strings.TrimPrefix(msg, e.Column+" ")
		}
		out.add(resource, csvElements[e.Column], msg)
	}
	return out
}

// MaxLine is the longest line of an NDJSON file read.
const MaxLine = 8 << 20

// ReadNDJSON splits a Bulk Data export (one resource a line; blank lines are skipped) into
// items named by line.
func ReadNDJSON(r *bufio.Reader) ([]Item, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var items []Item
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		items = append(items, Item{Where: "line " + strconv.Itoa(n), JSON: append([]byte(nil), line...)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("error reading the file: %w", err)
	}
	return items, nil
}
