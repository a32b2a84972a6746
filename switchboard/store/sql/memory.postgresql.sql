-- PostgreSQL forms of memory queries: tsvector for keywords, pgvector for vectors.
-- JSON arrays of ids arrive as text; vectors as pgvector's text form '[x,y,...]'.

-- name: delete_many
DELETE FROM memories
WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(:ids AS json)));

-- name: repoint_supersedes
UPDATE memories SET supersedes = :keep
WHERE supersedes IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(:ids AS json)))
  AND id <> :keep;

-- name: touch
UPDATE memories SET access_count = access_count + 1, accessed_at = :now
WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(:ids AS json)));

-- name: search_keyword
-- websearch_to_tsquery reads the same quoted-terms-joined-by-OR text and never fails.
SELECT m.id, ts_rank_cd(m.search, q.query) AS rank
FROM memories m, websearch_to_tsquery('english', :match) AS q (query)
WHERE m.search @@ q.query AND m.namespace IN (:namespace, :shared)
ORDER BY rank DESC, m.id
LIMIT :k;

-- name: term_count
SELECT count(*) AS n FROM memories WHERE search @@ websearch_to_tsquery('english', :match);

-- name: search_semantic
-- {dim} is the model's dimension, filled in before this runs, so that the HNSW index
-- of that dimension (migration 0005, vector_index_create) orders the scan.
WITH hits AS MATERIALIZED (
    SELECT v.memory_id AS id, CAST(v.embedding AS vector({dim})) <=> CAST(:embedding AS vector({dim})) AS distance
    FROM memory_vectors v JOIN memories m ON m.id = v.memory_id
    WHERE v.dim = {dim} AND v.model = :model AND m.namespace IN (:namespace, :shared)
    ORDER BY distance
    LIMIT :k
)
SELECT id, distance FROM hits ORDER BY distance;

-- name: semantic_settings
-- For this transaction: a wider HNSW beam, and scanning on past rows the filters drop.
SELECT set_config('hnsw.ef_search', '100', true) AS ef, set_config('hnsw.iterative_scan', 'relaxed_order', true) AS scan;

-- name: vector_index_create
CREATE INDEX IF NOT EXISTS memory_vectors_hnsw_{dim} ON memory_vectors
    USING hnsw ((CAST(embedding AS vector({dim}))) vector_cosine_ops) WHERE dim = {dim};

-- name: vector_fill
INSERT INTO memory_vectors (memory_id, model, dim, embedding)
SELECT :id, :model, :dim, CAST(:embedding AS vector) WHERE EXISTS (SELECT 1 FROM memories WHERE id = :id)
ON CONFLICT (memory_id) DO NOTHING;

-- name: visible
SELECT m.* FROM memories m
WHERE m.id IN (SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST(:ids AS json)))
  AND (m.expires_at IS NULL OR m.expires_at > :now)
  AND (CAST(:type AS TEXT) IS NULL OR m.type = :type)
  AND (CAST(:since AS DOUBLE PRECISION) IS NULL OR m.created_at >= :since)
  AND (CAST(:project AS TEXT) IS NULL OR m.project = :project)
  AND NOT EXISTS (SELECT 1 FROM json_array_elements_text(CAST(:tags AS json)) t (value)
                  WHERE strpos(m.tags, ',' || t.value || ',') = 0)
  AND NOT EXISTS (SELECT 1 FROM memories s WHERE s.supersedes = m.id AND s.relation = 'updates');

-- name: vector_upsert
INSERT INTO memory_vectors (memory_id, model, dim, embedding)
VALUES (:id, :model, :dim, CAST(:embedding AS vector))
ON CONFLICT (memory_id) DO UPDATE
SET model = excluded.model, dim = excluded.dim, embedding = excluded.embedding;

-- name: vectors
SELECT v.memory_id AS id, m.namespace, CAST(v.embedding AS TEXT) AS embedding FROM memory_vectors v
JOIN memories m ON m.id = v.memory_id
WHERE v.model = :model AND (CAST(:namespace AS TEXT) IS NULL OR m.namespace IN (:namespace, :shared))
ORDER BY v.memory_id;

-- name: export
SELECT m.*, v.model, CAST(v.embedding AS TEXT) AS embedding FROM memories m
LEFT JOIN memory_vectors v ON v.memory_id = m.id
WHERE (CAST(:namespace AS TEXT) IS NULL OR m.namespace = :namespace)
ORDER BY m.id;

-- name: check_vector_malformed
SELECT count(*) AS n FROM memory_vectors WHERE vector_dims(embedding) <> dim;

-- name: vector_malformed_drop
DELETE FROM memory_vectors WHERE vector_dims(embedding) <> dim;

-- name: vector_dims_sound
SELECT DISTINCT dim FROM memory_vectors WHERE model = :model AND vector_dims(embedding) = dim;

-- name: vector_index_present
SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'memory_vectors' AND indexname = :name;
