package timelog

import (
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/practice"
)

var careTimeDesc = prometheus.NewDesc("outreach_care_time_seconds",
	"Staff time logged this month (current versions), by program.", []string{"program"}, nil)

// selectCareTime reads this month's rollup, care_time_months, which a trigger on time_entries
// keeps as entries are recorded, amended and voided: the seconds of the current versions of
// the entries that started in the month, in the practice's zone.
const selectCareTime = `
SELECT program AS l1, '' AS l2, '' AS l3, sum(seconds)::float8 AS v
FROM care_time_months WHERE practice_id = $1 AND month = ` + dbgauge.Month + `
GROUP BY 1`

// Gauges returns the collector of this month's staff time per program (every program shown
// from 0). Register it where the metrics are served.
func Gauges(d *sqlx.DB, p practice.ID, clock func() time.Time, errs prometheus.Counter, log *slog.Logger) *dbgauge.Set {
	return &dbgauge.Set{DB: d, Practice: p, Clock: clock, Errors: errs, Log: log, Queries: []dbgauge.Query{
		{Desc: careTimeDesc, Labels: 1, SQL: selectCareTime, UsesNow: true, Zeros: dbgauge.Each(care.Programs)},
	}}
}
