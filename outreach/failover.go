package outreach

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/db"
)

// During a database failover or switchover, work that the provider would not send again (a
// patient's reply, a status report, the record of texts that went out) waits for the new
// primary within its deadline instead of failing at once: see db.OnPrimary.

// recordSentWithin bounds the recording of a batch of sends, a wait for a new primary
// included: a failover takes a few seconds, and a send left unrecorded stays in doubt until
// its lease ends and a lookup settles it.
const recordSentWithin = 15 * time.Second

// sentCommit sets how the record of sends commits: without waiting for the disk on a server
// alone (a crash loses at most the last records, whose sends the lease and a lookup settle),
// but, where a synchronous standby is configured, once the standby has the record: a failover
// to it keeps every record the engine was told of.
const sentCommit = `SELECT set_config('synchronous_commit',
	CASE WHEN current_setting('synchronous_standby_names') = '' THEN 'off' ELSE 'remote_write' END, true)`

// receiveOnPrimary is receiveTogether, run again while the primary is gone. A try whose commit
// was lost is found by the next one: the texts' provider ids were stored, and they count as
// duplicates.
func (e *Engine) receiveOnPrimary(ctx context.Context, batch []*delivery) error {
	return db.OnPrimary(ctx, e.Log, "inbound messages", func(ctx context.Context) error {
		return e.receiveTogether(ctx, batch)
	})
}

// reportOnPrimary is apply (a status report's transaction), run again while the primary is
// gone. Reports move a status forward only, so a second try changes nothing the first did.
func reportOnPrimary(ctx context.Context, e *Engine, what string, apply func(context.Context) (bool, error)) (bool, error) {
	var changed bool
	err := db.OnPrimary(ctx, e.Log, what, func(ctx context.Context) error {
		var err error
		changed, err = apply(ctx)
		return err
	})
	return changed, err
}

// txOnPrimary is aftercommit.WithTx, run again while the primary is gone. fn must find what a
// try whose commit was lost did: the record of sends marks a text sent once ("first" only on
// the try that did it), and moves a check-in's last send forward only.
func (e *Engine) txOnPrimary(ctx context.Context, what string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return db.OnPrimary(ctx, e.Log, what, func(ctx context.Context) error {
		return aftercommit.WithTx(ctx, e.DB, fn)
	})
}
