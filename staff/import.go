package staff

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/internal/imports"
)

var schema = csvfile.Schema{
	Columns:  []string{"id", "name", "credential", "role", "npi", "phone", "email"},
	Required: []string{"id"},
}

// Import says what an import of a staff file did.
type Import struct {
	Rows, Created, Updated, Unchanged int
}

type row struct {
	line       int
	extID      string
	name       string
	credential string
	role       Role
	npi        *string
	phone      *string
	email      *string
}

// ImportFile reads a staff CSV file and upserts its members by id in one transaction: a file
// with any error stores nothing. A column absent from the file leaves that field as it is.
// Phone numbers are read as people write them, national ones in the practice's country.
func ImportFile(ctx context.Context, d *sqlx.DB, name string, r io.Reader, opt imports.Options) (Import, error) {
	var res Import
	pid := int64(opt.Practice.ID)
	rows, err := imports.Run(ctx, d, name, r, opt, imports.Job[row]{
		Kind: imports.Staff, Schema: schema, FirstFile: true,
		Parse: func(f *csvfile.File) ([]row, error) { return parse(f, opt.Practice.Country) },
		Store: func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []row) (map[string]int, error) {
			q := upsertSQL(f)
			for _, m := range rows {
				var out struct {
					ID       int64 `db:"id"`
					Inserted bool  `db:"inserted"`
				}
				err := tx.GetContext(ctx, &out, q, pid, m.extID, m.name, m.credential, string(m.role), m.npi, m.phone, m.email, opt.Now)
				if db.IsNoRows(err) {
					continue // unchanged
				}
				if err != nil {
					return nil, fmt.Errorf("error storing line %d: %w", m.line, err)
				}
				action := "staff.update"
				if out.Inserted {
					action, res.Created = "staff.create", res.Created+1
				} else {
					res.Updated++
				}
				err = audit.Record(ctx, tx, audit.Event{PracticeID: pid, At: opt.Now, Actor: opt.Actor,
					Action: action, Entity: "staff", EntityID: fmt.Sprint(out.ID), Detail: map[string]any{"source": "import"}})
				if err != nil {
					return nil, err
				}
			}
			return map[string]int{"created": res.Created, "updated": res.Updated}, nil
		},
	})
	if err != nil {
		return Import{}, err
	}
	res.Rows = rows
	res.Unchanged = res.Rows - res.Created - res.Updated
	return res, nil
}

func parse(f *csvfile.File, country string) ([]row, error) {
	return csvfile.ParseRows(f, "id", func(r csvfile.Row) (row, []*csvfile.Error) {
		return parseRow(r, country)
	})
}

func parseRow(r csvfile.Row, country string) (row, []*csvfile.Error) {
	var errs []*csvfile.Error
	check := func(e *csvfile.Error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	m := row{line: r.Line, name: r.Get("name")}
	id, e := r.Required("id")
	check(e)
	if id != "" && !ident.External(id) {
		check(r.Errorf("id", "id %q must be 1 to 64 letters, digits, '.', '_', ':' or '-'", id))
	}
	m.extID = id
	if len(m.name) > 200 {
		check(r.Errorf("name", "name is longer than 200 characters"))
	}
	m.credential = strings.ToUpper(strings.ReplaceAll(r.Get("credential"), ".", ""))
	if m.credential != "" && !credentialForm(m.credential) {
		check(r.Errorf("credential", "credential %q is not a credential (like RN, LPN, MA, MD, NP)", r.Get("credential")))
	}
	role, e := r.OneOf("role", "", string(RoleClinical), string(RolePractitioner), string(RoleNonClinical))
	check(e)
	m.role = Role(role)
	implied, known := RoleFor(m.credential)
	switch {
	case e != nil:
	case m.role == "" && known:
		m.role = implied
	case m.role == "":
		check(r.Errorf("role", "role is empty and credential %q does not imply one: give clinical, practitioner or non_clinical", m.credential))
	case m.role == RolePractitioner && m.credential != "" && implied != RolePractitioner:
		check(r.Errorf("role", "role practitioner needs a practitioner's credential (MD, DO, NP, PA, CNS, CNM), not %q", m.credential))
	}
	if npi, ok, e := r.NPI("npi"); ok {
		m.npi = &npi
	} else {
		check(e)
	}
	if phone, ok, e := r.Phone("phone", country); ok {
		m.phone = &phone
	} else {
		check(e)
	}
	if v := r.Get("email"); v != "" {
		if !validEmail(v) {
			check(r.Errorf("email", "email %q is not an email address", v))
		}
		m.email = &v
	}
	return m, errs
}

func credentialForm(s string) bool {
	if len(s) > 16 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// upsertSQL builds the upsert for the columns the file has.
func upsertSQL(f *csvfile.File) string {
	cols := []struct{ csv, db string }{{"name", "name"}, {"credential", "credential"}, {"role", "role"}, {"npi", "npi"}, {"phone", "phone"}, {"email", "email"}}
	var set, old, new []string
	for _, c := range cols {
		// A member's role may be implied by the credential, so it follows the credential too.
		if f.Has(c.csv) || (c.csv == "role" && f.Has("credential")) {
			set = append(set, c.db+" = EXCLUDED."+c.db)
			old = append(old, "staff."+c.db)
			new = append(new, "EXCLUDED."+c.db)
		}
	}
	if len(set) == 0 {
		set, old, new = []string{"ext_id = EXCLUDED.ext_id"}, []string{"true"}, []string{"true"}
	}
	return fmt.Sprintf(`
INSERT INTO staff (practice_id, ext_id, name, credential, role, npi, phone, email, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
ON CONFLICT (practice_id, ext_id) DO UPDATE SET %s, updated_at = EXCLUDED.updated_at
WHERE (%s, 0) IS DISTINCT FROM (%s, 0)
RETURNING id, (xmax = 0) AS inserted`, strings.Join(set, ", "), strings.Join(old, ", "), strings.Join(new, ", "))
}
