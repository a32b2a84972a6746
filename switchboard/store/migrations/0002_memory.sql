-- Memory: namespaced memories, their full-text index and their vectors.
-- The sqlite-vec index (memory_vec) is created on first use by a connection that
-- has sqlite-vec, with the dimension of the model in use; see memory.sql vec_create.

CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    content TEXT NOT NULL,
    -- sha256 of the normalised content: storing it again in the namespace merges.
    content_hash TEXT NOT NULL,
    type TEXT NOT NULL,
    -- ',a,b,' so that one tag matches exactly as ',a,'.
    tags TEXT NOT NULL DEFAULT '',
    confidence TEXT NOT NULL DEFAULT 'medium' CHECK (confidence IN ('high', 'medium', 'low')),
    source TEXT,
    supersedes INTEGER REFERENCES memories (id) ON DELETE SET NULL,
    relation TEXT CHECK (relation IN ('updates', 'extends', 'derives')),
    access_count INTEGER NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    accessed_at DOUBLE PRECISION,
    expires_at DOUBLE PRECISION
);

CREATE UNIQUE INDEX memories_dedup ON memories (namespace, content_hash);
CREATE INDEX memories_recent ON memories (namespace, created_at);
CREATE INDEX memories_supersedes ON memories (supersedes) WHERE supersedes IS NOT NULL;
CREATE INDEX memories_expires ON memories (expires_at) WHERE expires_at IS NOT NULL;

-- One vector per memory, with the model that made it (float32, little-endian).
CREATE TABLE memory_vectors (
    memory_id INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    embedding BLOB NOT NULL
);

CREATE INDEX memory_vectors_model ON memory_vectors (model);

-- Which model the vector index holds; dirty when memories changed while it was not loadable.
CREATE TABLE memory_index (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    dirty INTEGER NOT NULL DEFAULT 0
);

CREATE VIRTUAL TABLE memories_fts USING fts5(
    content, tags,
    content = 'memories', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, tags) VALUES (new.id, new.content, new.tags);
END;

CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, tags)
    VALUES ('delete', old.id, old.content, old.tags);
END;

CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, tags ON memories BEGIN
    INSERT INTO memories_fts (memories_fts, rowid, content, tags)
    VALUES ('delete', old.id, old.content, old.tags);
    INSERT INTO memories_fts (rowid, content, tags) VALUES (new.id, new.content, new.tags);
END;
