package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
)

// AuditHandler serves GET /api/v1/audit[?from=RFC3339][&to=RFC3339][&entity=][&entity_id=][&actor=]:
// the newest 500 audit events that match (the last 7 days by default). Reading the log is
// itself audited. The route is for managers and admins.
func AuditHandler(d *sqlx.DB, practice int64, clock func() time.Time, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := IdentityFrom(r.Context())
		if !ok {
			WriteError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		q := r.URL.Query()
		now := clock()
		f := audit.Filter{From: now.AddDate(0, 0, -7), To: now.Add(time.Minute), Entity: q.Get("entity"),
			EntityID: q.Get("entity_id"), Actor: q.Get("actor")}
		for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
			if v := q.Get(name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					Fail(w, log, Errorf(ErrInvalid, "%s %q is not an RFC 3339 time", name, v))
					return
				}
				*dst = t
			}
		}
		entries, err := audit.List(r.Context(), d, practice, f, 500)
		if err != nil {
			Fail(w, log, err)
			return
		}
		if err := audit.Record(r.Context(), d, audit.Event{PracticeID: practice, At: now, Actor: id.Actor(),
			Action: "audit_log.read", Entity: "audit_log", Detail: map[string]any{"entity": f.Entity, "actor": f.Actor}}); err != nil {
			Fail(w, log, err)
			return
		}
		WriteJSON(w, http.StatusOK, entries)
	}
}
