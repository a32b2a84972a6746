-- Every query of memory. Parameters are :named; PostgreSQL overrides live in
-- memory.postgresql.sql. Times are Unix epoch seconds. Lists of ids, namespaces
-- and tags arrive as JSON arrays (:ids, :tags), one parameter each.

-- name: insert
INSERT INTO memories (namespace, content, content_hash, type, tags, confidence, source, supersedes,
                      relation, access_count, created_at, updated_at, accessed_at, expires_at, event_date, project)
VALUES (:namespace, :content, :content_hash, :type, :tags, :confidence, :source, :supersedes,
        :relation, :access_count, :created_at, :updated_at, :accessed_at, :expires_at, :event_date, :project)
ON CONFLICT (namespace, content_hash) DO NOTHING
RETURNING *;

-- name: find_duplicate
SELECT * FROM memories WHERE namespace = :namespace AND content_hash = :content_hash;

-- name: merge
-- A repeat of a memory: new tags join, the access counts, the later expiry (or none) wins.
UPDATE memories
SET tags = :tags, access_count = access_count + :accesses, updated_at = :now, accessed_at = :now,
    confidence = :confidence,
    expires_at = CASE WHEN expires_at IS NULL OR CAST(:expires_at AS DOUBLE PRECISION) IS NULL THEN NULL
                      WHEN expires_at > :expires_at THEN expires_at ELSE :expires_at END
WHERE id = :id
RETURNING *;

-- name: get
SELECT * FROM memories WHERE id = :id;

-- name: delete_many
DELETE FROM memories WHERE id IN (SELECT value FROM json_each(:ids));

-- name: repoint_supersedes
-- Memories that superseded a merged-away one now supersede its survivor.
UPDATE memories SET supersedes = :keep
WHERE supersedes IN (SELECT value FROM json_each(:ids)) AND id <> :keep;

-- name: touch
UPDATE memories SET access_count = access_count + 1, accessed_at = :now
WHERE id IN (SELECT value FROM json_each(:ids));

-- name: list
SELECT * FROM memories
WHERE (CAST(:namespace AS TEXT) IS NULL OR namespace = :namespace)
  AND (:include_expired OR expires_at IS NULL OR expires_at > :now)
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- name: chain
-- Every memory linked to :id by supersedes, both ways: depth < 0 older, > 0 newer.
WITH RECURSIVE
  older (id, depth) AS (
    SELECT CAST(:id AS BIGINT), 0
    UNION ALL
    SELECT m.supersedes, older.depth - 1 FROM memories m JOIN older ON m.id = older.id
    WHERE m.supersedes IS NOT NULL AND older.depth > -1000
  ),
  newer (id, depth) AS (
    SELECT CAST(:id AS BIGINT), 0
    UNION ALL
    SELECT m.id, newer.depth + 1 FROM memories m JOIN newer ON m.supersedes = newer.id
    WHERE newer.depth < 1000
  )
SELECT m.*, c.depth FROM (SELECT id, depth FROM older UNION SELECT id, depth FROM newer) c
JOIN memories m ON m.id = c.id
ORDER BY c.depth, m.created_at, m.id;

-- name: search_keyword
-- :match is an FTS5 expression built only of quoted terms (see memory/search.py).
SELECT f.rowid AS id, bm25(memories_fts, 1.0, 0.5) AS rank
FROM memories_fts f JOIN memories m ON m.id = f.rowid
WHERE memories_fts MATCH :match AND m.namespace IN (:namespace, :shared)
ORDER BY rank
LIMIT :k;

-- name: count_all
SELECT count(*) AS n FROM memories;

-- name: term_count
-- In how many memories (of all namespaces, as BM25 counts) one quoted term occurs.
SELECT count(*) AS n FROM memories_fts WHERE memories_fts MATCH :match;

-- name: semantic_settings
-- Nothing to set: SQLite's vectors are searched by an index in memory (memory/vectors.py);
-- PostgreSQL tunes its HNSW scan here.
SELECT 1 AS ef;

-- name: visible
-- The candidates a recall may show: not expired, not replaced by an update, and filtered.
SELECT m.* FROM memories m
WHERE m.id IN (SELECT value FROM json_each(:ids))
  AND (m.expires_at IS NULL OR m.expires_at > :now)
  AND (CAST(:type AS TEXT) IS NULL OR m.type = :type)
  AND (CAST(:since AS DOUBLE PRECISION) IS NULL OR m.created_at >= :since)
  AND (CAST(:project AS TEXT) IS NULL OR m.project = :project)
  AND NOT EXISTS (SELECT 1 FROM json_each(:tags) t WHERE instr(m.tags, ',' || t.value || ',') = 0)
  AND NOT EXISTS (SELECT 1 FROM memories s WHERE s.supersedes = m.id AND s.relation = 'updates');

-- name: vectors
-- Vectors of one model in the given namespaces (brute-force search, consolidation).
SELECT v.memory_id AS id, m.namespace, v.embedding FROM memory_vectors v
JOIN memories m ON m.id = v.memory_id
WHERE v.model = :model AND (CAST(:namespace AS TEXT) IS NULL OR m.namespace IN (:namespace, :shared))
ORDER BY v.memory_id;

-- name: vector_upsert
INSERT INTO memory_vectors (memory_id, model, dim, embedding) VALUES (:id, :model, :dim, :embedding)
ON CONFLICT (memory_id) DO UPDATE
SET model = excluded.model, dim = excluded.dim, embedding = excluded.embedding;

-- name: stale
-- Memories with no vector from :model, in id order after :after (:model '' gives all).
SELECT m.id, m.namespace, m.content FROM memories m
LEFT JOIN memory_vectors v ON v.memory_id = m.id
WHERE (v.model IS NULL OR v.model <> :model) AND m.id > :after
ORDER BY m.id
LIMIT :limit;

-- name: other_model
-- Whether any vector is from another model than :model (two index range scans).
SELECT 1 AS present FROM memory_vectors WHERE model < :model OR model > :model LIMIT 1;

-- name: stale_count
SELECT count(*) AS n FROM memories m LEFT JOIN memory_vectors v ON v.memory_id = m.id
WHERE (v.model IS NULL OR v.model <> :model)
  AND (CAST(:namespace AS TEXT) IS NULL OR m.namespace IN (:namespace, :shared));

-- name: changes_head
-- The vector change log (see migration 0005): the last entry ever written (AUTOINCREMENT
-- remembers it even once pruned) and the oldest one kept (NULL when all are pruned).
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'memory_vector_changes'), 0) AS newest,
       (SELECT min(seq) FROM memory_vector_changes) AS oldest;

-- name: vector_changes
-- Each memory named in the log between :after and :upto, as it is now: its namespace
-- and its vector of :model (NULL once deleted or of another model).
SELECT c.memory_id, m.namespace, v.embedding
FROM (SELECT DISTINCT memory_id FROM memory_vector_changes WHERE seq > :after AND seq <= :upto) c
LEFT JOIN memories m ON m.id = c.memory_id
LEFT JOIN memory_vectors v ON v.memory_id = c.memory_id AND v.model = :model;

-- name: changes_prune
DELETE FROM memory_vector_changes WHERE seq <= :upto;

-- name: pending
-- Memories stored before any model was warm: no vector at all yet, in id order.
SELECT m.id, m.content FROM memories m
WHERE m.id > :after AND NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.memory_id = m.id)
ORDER BY m.id
LIMIT :limit;

-- name: pending_count
SELECT count(*) AS n FROM memories m
WHERE (CAST(:namespace AS TEXT) IS NULL OR m.namespace = :namespace)
  AND NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.memory_id = m.id);

-- name: vector_fill
-- A pending memory's vector, unless it was deleted or got one meanwhile.
INSERT INTO memory_vectors (memory_id, model, dim, embedding)
SELECT :id, :model, :dim, :embedding WHERE EXISTS (SELECT 1 FROM memories WHERE id = :id)
ON CONFLICT (memory_id) DO NOTHING;

-- name: namespaces
SELECT namespace, count(*) AS memories, max(created_at) AS latest
FROM memories GROUP BY namespace ORDER BY namespace;

-- name: namespace_ids
SELECT id FROM memories WHERE namespace = :namespace ORDER BY id;

-- name: rename_clashes
-- Memories of :old whose content :new already holds: they merge instead of moving.
SELECT o.id AS old_id, n.id AS new_id FROM memories o
JOIN memories n ON n.namespace = :new AND n.content_hash = o.content_hash
WHERE o.namespace = :old;

-- name: rename
UPDATE memories SET namespace = :new, updated_at = :now WHERE namespace = :old;

-- name: prunable
-- Expired memories, and memories neither stored, merged nor recalled since :cutoff.
SELECT id, CASE WHEN expires_at IS NOT NULL AND expires_at <= :now THEN 'expired' ELSE 'unused' END AS reason
FROM memories
WHERE (CAST(:namespace AS TEXT) IS NULL OR namespace = :namespace)
  AND ((expires_at IS NOT NULL AND expires_at <= :now)
       OR (updated_at < :cutoff AND coalesce(accessed_at, 0) < :cutoff))
ORDER BY id;

-- name: export
SELECT m.*, v.model, v.embedding FROM memories m
LEFT JOIN memory_vectors v ON v.memory_id = m.id
WHERE (CAST(:namespace AS TEXT) IS NULL OR m.namespace = :namespace)
ORDER BY m.id;

-- name: count_by
SELECT namespace, type, count(*) AS n,
       sum(CASE WHEN expires_at IS NOT NULL AND expires_at <= :now THEN 1 ELSE 0 END) AS expired,
       min(created_at) AS oldest, max(created_at) AS newest
FROM memories
WHERE CAST(:namespace AS TEXT) IS NULL OR namespace = :namespace
GROUP BY namespace, type;

-- name: vectors_by_model
SELECT v.model, v.dim, count(*) AS n FROM memory_vectors v JOIN memories m ON m.id = v.memory_id
WHERE CAST(:namespace AS TEXT) IS NULL OR m.namespace = :namespace
GROUP BY v.model, v.dim ORDER BY n DESC;

-- name: superseded_count
SELECT count(DISTINCT s.supersedes) AS n FROM memories s JOIN memories m ON m.id = s.supersedes
WHERE s.relation = 'updates' AND (CAST(:namespace AS TEXT) IS NULL OR m.namespace = :namespace);

-- name: any_in
-- Whether the namespaces searched hold anything at all: recall skips embedding the query if not.
SELECT EXISTS (SELECT 1 FROM memories WHERE namespace IN (:namespace, :shared)) AS present;

-- name: log_add
INSERT INTO memory_log (at, action, namespace, agent, text, memory_id, hits)
VALUES (:at, :action, :namespace, :agent, :text, :memory_id, :hits)
RETURNING id;

-- name: log_trim
-- Keep the newest :keep entries (ids only grow, so this is one primary-key range).
DELETE FROM memory_log WHERE id <= :id - :keep;

-- name: log_recent
SELECT * FROM memory_log
WHERE CAST(:namespace AS TEXT) IS NULL OR namespace = :namespace
ORDER BY id DESC
LIMIT :limit;

-- name: check_fts_missing
-- Memories the full-text index has no entry for (FTS5 keeps one docsize row per entry).
SELECT count(*) AS n FROM memories m
WHERE NOT EXISTS (SELECT 1 FROM memories_fts_docsize d WHERE d.id = m.id);

-- name: check_fts_extra
SELECT count(*) AS n FROM memories_fts_docsize d
WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = d.id);

-- name: check_fts_content
-- FTS5's own check against the memories table: an error when any entry disagrees.
INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1);

-- name: fts_rebuild
INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');

-- name: check_vector_orphans
SELECT count(*) AS n FROM memory_vectors v
WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = v.memory_id);

-- name: vector_orphans_drop
DELETE FROM memory_vectors WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = memory_vectors.memory_id);

-- name: check_vector_malformed
-- Vectors whose stored size is not their dimension (float32: 4 bytes each).
SELECT count(*) AS n FROM memory_vectors WHERE length(embedding) <> 4 * dim OR dim < 1;

-- name: vector_malformed_drop
-- Their memories become pending again: the embedding service fills them in.
DELETE FROM memory_vectors WHERE length(embedding) <> 4 * dim OR dim < 1;

-- name: vector_dims_sound
-- The dimensions of :model's vectors, leaving out malformed ones (their own problem).
SELECT DISTINCT dim FROM memory_vectors WHERE model = :model AND length(embedding) = 4 * dim;

-- name: vector_index_present
-- Whether a database index exists (PostgreSQL's HNSW indexes; SQLite's vector index is in memory).
SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name = :name;
