/* The Cassandra side of a model: creating it in a cluster and checking the
 * tables that are there (the model itself, model/, is pure: no cluster
 * access). */
#ifndef CQLSHIFT_TARGET_APPLY_H
#define CQLSHIFT_TARGET_APPLY_H

#include "cql/cql.h"
#include "model/model.h"

/* Create the keyspace unless it exists (with m->replication, by default
 * SimpleStrategy RF 1: then a note says so; a keyspace that exists keeps
 * its replication, and a note says so if m->replication was given) and
 * every table with IF NOT EXISTS, wait for schema agreement, then compare every
 * table that already existed with the model. A column with another type
 * than the model's is accepted (its values are converted to the table's
 * type): one line "ks.t.col: ..." is appended to `notes` (may be NULL) for
 * each. A missing column, another key layout, an extra key column or a
 * counter column is refused with code 2 and a readable diff, one line per
 * difference: "ks.t: column x is missing; the model wants x bigint
 * (regular)"; the caller should drop those tables or use another keyspace.
 * Writers must convert to the types the server reports for the insert
 * (cql_prepared_bind), not to the model's. */
int target_apply_model(const model *m, cql_session *s, cs_buf *notes, model_error *err);

/* Run one more DDL statement (an index) and wait for schema agreement;
 * Cassandra's warnings go to notes as "what: Cassandra warns: ...". 0, or
 * -1 with err (code 3). */
int target_apply_ddl(cql_session *s, const char *cql, const char *what, cs_buf *notes,
                     model_error *err);

#endif
