-- Memory at scale. Vectors are searched by an index held in memory by each process
-- that searches (memory/vectors.py), built from memory_vectors, the source of truth.
-- This log tells those indexes which memories' vectors changed since they were built:
-- one row per vector written, replaced or deleted, or memory moved to another
-- namespace. A process that finds the log pruned past what it has seen rebuilds.
CREATE TABLE memory_vector_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    memory_id INTEGER NOT NULL
);

CREATE TRIGGER memory_vectors_log_insert AFTER INSERT ON memory_vectors BEGIN
    INSERT INTO memory_vector_changes (memory_id) VALUES (new.memory_id);
END;

CREATE TRIGGER memory_vectors_log_update AFTER UPDATE ON memory_vectors BEGIN
    INSERT INTO memory_vector_changes (memory_id) VALUES (new.memory_id);
END;

CREATE TRIGGER memory_vectors_log_delete AFTER DELETE ON memory_vectors BEGIN
    INSERT INTO memory_vector_changes (memory_id) VALUES (old.memory_id);
END;

CREATE TRIGGER memories_log_namespace AFTER UPDATE OF namespace ON memories BEGIN
    INSERT INTO memory_vector_changes (memory_id) VALUES (new.id);
END;

-- The sqlite-vec index of earlier versions is replaced (its vec0 table, if any, stays
-- unused: dropping it needs sqlite-vec loaded).
DROP TABLE memory_index;
