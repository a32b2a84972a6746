-- Memory at scale on PostgreSQL: pgvector's HNSW index for the default model's 384
-- dimensions (an HNSW index needs a fixed dimension: a model of another size gets
-- its own when `memory reindex` runs, see memory.sql vector_index_create).
CREATE INDEX IF NOT EXISTS memory_vectors_hnsw_384 ON memory_vectors
    USING hnsw ((CAST(embedding AS vector(384))) vector_cosine_ops) WHERE dim = 384;

DROP TABLE memory_index;
