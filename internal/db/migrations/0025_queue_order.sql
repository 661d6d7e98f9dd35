-- The queue lists items in the order (severity, created_at, id). With the id in its indexes a
-- page of the queue reads as many index entries as it shows, even where many items were raised
-- in the same instant (an import, a burst of readings), instead of every item of that instant.
DROP INDEX escalations_unresolved;
CREATE INDEX escalations_unresolved ON escalations (practice_id, severity, created_at, id) WHERE status <> 'resolved';
DROP INDEX escalations_queue;
CREATE INDEX escalations_queue ON escalations (practice_id, status, severity, created_at, id);
