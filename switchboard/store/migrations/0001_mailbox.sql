-- The mailbox: agents and the messages between them.

CREATE TABLE agents (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL DEFAULT 'worker',
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    registered_at DOUBLE PRECISION NOT NULL,
    last_seen_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_agent TEXT NOT NULL,
    to_agent TEXT NOT NULL,
    type TEXT NOT NULL,
    priority SMALLINT NOT NULL,
    convoy TEXT,
    payload TEXT NOT NULL,
    reply_to INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    thread_id INTEGER,
    -- The human inbox: unread, read, archived.
    status TEXT NOT NULL DEFAULT 'unread' CHECK (status IN ('unread', 'read', 'archived')),
    -- Machine delivery: pending, leased, acked, dead.
    delivery TEXT NOT NULL DEFAULT 'pending'
        CHECK (delivery IN ('pending', 'leased', 'acked', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    available_at DOUBLE PRECISION NOT NULL,
    lease_token TEXT,
    lease_expires_at DOUBLE PRECISION,
    claimed_by TEXT,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    read_at DOUBLE PRECISION,
    archived_at DOUBLE PRECISION,
    acked_at DOUBLE PRECISION
);

-- Claims scan only deliverable rows, in priority-then-age order.
CREATE INDEX messages_deliverable ON messages (to_agent, priority, id)
    WHERE delivery IN ('pending', 'leased');
CREATE INDEX messages_inbox ON messages (to_agent, status, priority, id);
CREATE INDEX messages_thread ON messages (thread_id, id);
CREATE INDEX messages_created ON messages (created_at);
