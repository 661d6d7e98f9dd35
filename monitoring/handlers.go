package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/staff"
)

// MaxBatch is the most readings one request may carry.
const MaxBatch = 1000

// maxListed is how many of a batch's problems an answer lists.
const maxListed = 20

// Batch is the body of POST /api/v1/readings: one reading, or a list of them.
type Batch struct {
	Inputs []Input
	List   bool // the body was a list: problems are named by index
}

// UnmarshalJSON reads one object or a list of objects; a field no reading has is an error.
func (b *Batch) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	b.List = len(data) > 0 && data[0] == '['
	if !b.List {
		var in Input
		if err := strictDecode(data, &in); err != nil {
			return err
		}
		b.Inputs = []Input{in}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("the list is not a list of readings: %w", err)
	}
	b.Inputs = make([]Input, len(raw))
	for i, r := range raw {
		if err := strictDecode(r, &b.Inputs[i]); err != nil {
			return fmt.Errorf("readings[%d]: %w", i, err)
		}
	}
	return nil
}

func strictDecode(data []byte, v *Input) error {
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("a reading is a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return fmt.Errorf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// Handlers serve remote monitoring's JSON API.
type Handlers struct {
	Svc *Service
}

// Receive stores the readings of a vendor's webhook (or any client's) all or none: one bad
// reading, or one whose patient is unknown, refuses the whole body with 400 naming each
// reading (its index in a list) and field, and nothing is stored; the vendor fixes the batch
// and sends it again. Readings stored before are not stored twice: the answer says how many
// were new.
func (h *Handlers) Receive(r *http.Request, who staff.Identity, b Batch) (int, any, error) {
	switch n := len(b.Inputs); {
	case n == 0:
		return 0, nil, errkind.Errorf(errkind.ErrInvalid, "the list holds no readings")
	case n > MaxBatch:
		return 0, nil, errkind.Errorf(errkind.ErrTooLarge, "the list holds %d readings; send at most %d at a time", n, MaxBatch)
	}
	name := func(i int, field string) string {
		if b.List {
			return fmt.Sprintf("readings[%d].%s", i, field)
		}
		return field
	}
	now := h.Svc.now()
	var problems []string
	rs := make([]Reading, len(b.Inputs))
	for i, in := range b.Inputs {
		r, errs := Check(in, now)
		for _, e := range errs {
			problems = append(problems, name(i, e.Field)+": "+e.Msg)
		}
		rs[i] = r
	}
	if len(problems) > 0 {
		return 0, nil, refused(problems)
	}
	res, unknown, err := h.Svc.Receive(r.Context(), rs, who.Actor())
	if err != nil {
		return 0, nil, err
	}
	for _, u := range unknown {
		problems = append(problems, fmt.Sprintf("%s: patient %q is not a known patient id", name(u.Index, "patient"), u.Patient))
	}
	if len(problems) > 0 {
		return 0, nil, refused(problems)
	}
	return http.StatusOK, res, nil
}

// refused is the answer to a batch with problems: each listed (up to maxListed), nothing stored.
func refused(problems []string) error {
	more := ""
	if len(problems) > maxListed {
		more = fmt.Sprintf("; and %d more", len(problems)-maxListed)
		problems = problems[:maxListed]
	}
	return errkind.Errorf(errkind.ErrInvalid, "nothing was stored: %s%s", strings.Join(problems, "; "), more)
}

// LimitsView is a patient's limits: those a practitioner set, and those in force.
type LimitsView struct {
	Patient   string `json:"patient"`
	Own       Limits `json:"own"`
	Effective Limits `json:"effective"`
}

func (h *Handlers) patient(ctx context.Context, ext string) (int64, error) {
	ids, err := patients.IDs(ctx, h.Svc.DB, h.Svc.pid(), []string{ext})
	if err != nil {
		return 0, err
	}
	id, ok := ids[ext]
	if !ok {
		return 0, errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext)
	}
	return id, nil
}

// Limits answers GET /api/v1/patients/{id}/reading-limits.
func (h *Handlers) Limits(r *http.Request, _ staff.Identity) (int, any, error) {
	ext := r.PathValue("id")
	id, err := h.patient(r.Context(), ext)
	if err != nil {
		return 0, nil, err
	}
	own, eff, err := h.Svc.PatientLimits(r.Context(), h.Svc.DB, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, LimitsView{Patient: ext, Own: own, Effective: eff}, nil
}

// SetLimits answers PUT /api/v1/patients/{id}/reading-limits: the body is the patient's own
// limits by measure ({"systolic": {"urgent_above": 190, "high_above": 170}}); practitioners only.
func (h *Handlers) SetLimits(r *http.Request, who staff.Identity, own Limits) (int, any, error) {
	ext := r.PathValue("id")
	if !CanSetLimits(who) {
		return 0, nil, errkind.Errorf(errkind.ErrForbidden, "only a practitioner may set a patient's limits")
	}
	id, err := h.patient(r.Context(), ext)
	if err != nil {
		return 0, nil, err
	}
	if own == nil {
		own = Limits{}
	}
	if err := h.Svc.SetLimits(r.Context(), who, id, own); err != nil {
		return 0, nil, err
	}
	own, eff, err := h.Svc.PatientLimits(r.Context(), h.Svc.DB, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, LimitsView{Patient: ext, Own: own, Effective: eff}, nil
}
