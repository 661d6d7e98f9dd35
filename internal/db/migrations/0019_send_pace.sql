-- The pace of each sender, shared by every replica: a carrier counts a number's messages, not a
-- process's. A replica reserves a block of send slots by moving next_at forward in one UPDATE;
-- next_at is on the database's clock, so replicas' clocks do not matter. Slots left unused
-- (a replica stopped, nothing more to send) are lost, never handed out again.
CREATE TABLE send_pace (
	sender  text PRIMARY KEY CHECK (length(sender) <= 100), -- "text " or "call " and who sends
	next_at timestamptz NOT NULL -- the first slot nobody reserved yet
);
