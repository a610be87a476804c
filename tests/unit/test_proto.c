/* Request encodings byte for byte (v4 and v5), ERROR sentences for every
 * error code, RESULT/SUPPORTED parsing of hand-built and captured bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include "testdata.h"

#include "cql/frame.h"
#include "cql/proto.h"

/* ---- building bodies ------------------------------------------------------- */

static void u8(cs_buf *b, uint8_t v) { assert_int_equal(cs_buf_put_u8(b, v), 0); }
static void u16(cs_buf *b, uint16_t v) { assert_int_equal(cs_buf_put_u16(b, v), 0); }
static void u32(cs_buf *b, uint32_t v) { assert_int_equal(cs_buf_put_u32(b, v), 0); }
static void u64(cs_buf *b, uint64_t v) { assert_int_equal(cs_buf_put_u64(b, v), 0); }
static void raw(cs_buf *b, const void *p, size_t n) { assert_int_equal(cs_buf_append(b, p, n), 0); }
static void str(cs_buf *b, const char *s)
{
    u16(b, (uint16_t)strlen(s));
    raw(b, s, strlen(s));
}
static void lstr(cs_buf *b, const char *s)
{
    u32(b, (uint32_t)strlen(s));
    raw(b, s, strlen(s));
}
static void bytes(cs_buf *b, const char *s)
{
    if (!s) {
        u32(b, 0xFFFFFFFF);
        return;
    }
    lstr(b, s);
}

#define BUF(name) cs_buf name; cs_buf_init(&name, SIZE_MAX)

static void assert_buf_equal(const cs_buf *got, const cs_buf *want)
{
    assert_int_equal(got->len, want->len);
    assert_memory_equal(got->data, want->data, want->len);
}

/* ---- requests ---------------------------------------------------------------- */

static void test_startup_and_auth(void **state)
{
    BUF(b);
    BUF(w);
    assert_int_equal(cql_msg_startup(&b, "lz4"), 0);
    u16(&w, 4);
    str(&w, "CQL_VERSION"); str(&w, "3.0.0");
    str(&w, "COMPRESSION"); str(&w, "lz4");
    str(&w, "DRIVER_NAME"); str(&w, "cqlshift");
    str(&w, "DRIVER_VERSION"); str(&w, CQLSHIFT_VERSION);
    assert_buf_equal(&b, &w);
    cs_buf_reset(&b);
    assert_int_equal(cql_msg_startup(&b, NULL), 0);
    assert_int_equal(cs_be16(b.data), 3);

    cs_buf_reset(&b);
    assert_int_equal(cql_msg_auth_response(&b, "cassandra", "pw"), 0);
    const uint8_t want[] = {0, 0, 0, 13, 0, 'c', 'a', 's', 's', 'a', 'n', 'd', 'r', 'a', 0, 'p', 'w'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    cs_buf_release(&b);
    cs_buf_release(&w);
}

static void test_query_params_v4_v5(void **state)
{
    const uint8_t values[] = {0, 0, 0, 1, 42, 0xFF, 0xFF, 0xFF, 0xFF};
    const uint8_t ps[] = {0xAB, 0xCD};
    cql_params p = {
        .consistency = CQL_LOCAL_QUORUM, .values = values, .values_len = sizeof values,
        .nvalues = 2, .skip_metadata = 1, .page_size = 5000, .paging_state = ps,
        .paging_state_len = sizeof ps, .serial_consistency = CQL_LOCAL_SERIAL,
        .timestamp = 1700000000000000LL, .has_timestamp = 1,
    };
    for (int version = 4; version <= 5; version++) {
        BUF(b);
        BUF(w);
        assert_int_equal(cql_msg_query(&b, version, "SELECT ?", &p), 0);
        lstr(&w, "SELECT ?");
        u16(&w, 0x0006);
        if (version == 5)
            u32(&w, 0x3F);
        else
            u8(&w, 0x3F);
        u16(&w, 2);
        raw(&w, values, sizeof values);
        u32(&w, 5000);
        u32(&w, 2);
        raw(&w, ps, 2);
        u16(&w, 0x0009);
        u64(&w, 1700000000000000ULL);
        assert_buf_equal(&b, &w);
        cs_buf_release(&b);
        cs_buf_release(&w);
    }
    /* v5 keyspace comes last, flag 0x80; v4 cannot carry it. */
    cql_params k = {.consistency = CQL_ONE, .has_timestamp = 1, .timestamp = 7, .keyspace = "ks"};
    BUF(b);
    BUF(w);
    assert_int_equal(cql_msg_query(&b, 5, "X", &k), 0);
    lstr(&w, "X");
    u16(&w, 1);
    u32(&w, 0xA0);
    u64(&w, 7);
    str(&w, "ks");
    assert_buf_equal(&b, &w);
    size_t before = b.len;
    assert_int_equal(cql_msg_query(&b, 4, "X", &k), -1);
    assert_int_equal(b.len, before); /* left unchanged */
    /* no parameters at all */
    cs_buf_reset(&b);
    cs_buf_reset(&w);
    cql_params none = {.consistency = CQL_ANY};
    assert_int_equal(cql_msg_query(&b, 4, "Y", &none), 0);
    lstr(&w, "Y");
    u16(&w, 0);
    u8(&w, 0);
    assert_buf_equal(&b, &w);
    cs_buf_release(&b);
    cs_buf_release(&w);
}

static void test_prepare_execute(void **state)
{
    BUF(b);
    BUF(w);
    assert_int_equal(cql_msg_prepare(&b, 5, "SELECT 1", "ks"), 0);
    lstr(&w, "SELECT 1");
    u32(&w, 1);
    str(&w, "ks");
    assert_buf_equal(&b, &w);
    cs_buf_reset(&b);
    cs_buf_reset(&w);
    assert_int_equal(cql_msg_prepare(&b, 5, "SELECT 1", NULL), 0);
    lstr(&w, "SELECT 1");
    u32(&w, 0);
    assert_buf_equal(&b, &w);
    cs_buf_reset(&b);
    cs_buf_reset(&w);
    assert_int_equal(cql_msg_prepare(&b, 4, "SELECT 1", NULL), 0);
    lstr(&w, "SELECT 1");
    assert_buf_equal(&b, &w);
    assert_int_equal(cql_msg_prepare(&b, 4, "SELECT 1", "ks"), -1);

    const uint8_t id[] = {1, 2, 3}, md[] = {9, 8};
    cql_params p = {.consistency = CQL_QUORUM, .skip_metadata = 1};
    cs_buf_reset(&b);
    cs_buf_reset(&w);
    assert_int_equal(cql_msg_execute(&b, 5, id, 3, md, 2, &p), 0);
    u16(&w, 3); raw(&w, id, 3);
    u16(&w, 2); raw(&w, md, 2);
    u16(&w, 4); u32(&w, 2);
    assert_buf_equal(&b, &w);
    cs_buf_reset(&b);
    cs_buf_reset(&w);
    assert_int_equal(cql_msg_execute(&b, 4, id, 3, md, 2, &p), 0);
    u16(&w, 3); raw(&w, id, 3);
    u16(&w, 4); u8(&w, 2);
    assert_buf_equal(&b, &w);
    cs_buf_release(&b);
    cs_buf_release(&w);
}

static void test_batch(void **state)
{
    const uint8_t id[] = {0xAA, 0xBB};
    const uint8_t vals[] = {0, 0, 0, 2, 'h', 'i'};
    cql_params p = {.consistency = CQL_LOCAL_ONE, .serial_consistency = CQL_SERIAL,
                    .has_timestamp = 1, .timestamp = 123456789};
    for (int version = 4; version <= 5; version++) {
        BUF(b);
        BUF(w);
        cql_batch_writer bw;
        assert_int_equal(cql_msg_batch_begin(&bw, &b, version, CQL_BATCH_UNLOGGED), 0);
        assert_int_equal(cql_msg_batch_add_prepared(&bw, id, 2, vals, sizeof vals, 1), 0);
        assert_int_equal(cql_msg_batch_add_query(&bw, "INSERT", NULL, 0, 0), 0);
        assert_int_equal(cql_msg_batch_end(&bw, &p), 0);
        u8(&w, 1);
        u16(&w, 2);
        u8(&w, 1); u16(&w, 2); raw(&w, id, 2); u16(&w, 1); raw(&w, vals, sizeof vals);
        u8(&w, 0); lstr(&w, "INSERT"); u16(&w, 0);
        u16(&w, 0x000A);
        if (version == 5)
            u32(&w, 0x30);
        else
            u8(&w, 0x30);
        u16(&w, 0x0008);
        u64(&w, 123456789);
        assert_buf_equal(&b, &w);
        cs_buf_release(&b);
        cs_buf_release(&w);
    }
    /* v5 keyspace; v4 refuses it */
    BUF(b);
    cql_batch_writer bw;
    cql_params k = {.consistency = CQL_ONE, .keyspace = "ks"};
    assert_int_equal(cql_msg_batch_begin(&bw, &b, 5, CQL_BATCH_LOGGED), 0);
    assert_int_equal(cql_msg_batch_end(&bw, &k), 0);
    const uint8_t want[] = {0, 0, 0, 0, 1, 0, 0, 0, 0x80, 0, 2, 'k', 's'};
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    cs_buf_reset(&b);
    assert_int_equal(cql_msg_batch_begin(&bw, &b, 4, CQL_BATCH_LOGGED), 0);
    assert_int_equal(cql_msg_batch_end(&bw, &k), -1);
    cs_buf_release(&b);
}

static void test_register(void **state)
{
    BUF(b);
    BUF(w);
    const char *ev[] = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
    assert_int_equal(cql_msg_register(&b, 3, ev), 0);
    u16(&w, 3);
    str(&w, ev[0]); str(&w, ev[1]); str(&w, ev[2]);
    assert_buf_equal(&b, &w);
    cs_buf_release(&b);
    cs_buf_release(&w);
}

static void test_consistency(void **state)
{
    assert_int_equal(cql_consistency_parse("local_quorum"), CQL_LOCAL_QUORUM);
    assert_int_equal(cql_consistency_parse("LOCAL_ONE"), CQL_LOCAL_ONE);
    assert_int_equal(cql_consistency_parse("Any"), CQL_ANY);
    assert_int_equal(cql_consistency_parse("quorumx"), -1);
    assert_int_equal(cql_consistency_parse(""), -1);
    assert_string_equal(cql_consistency_name(CQL_EACH_QUORUM), "EACH_QUORUM");
    assert_string_equal(cql_consistency_name(CQL_SERIAL), "SERIAL");
    assert_string_equal(cql_consistency_name(99), "UNKNOWN");
}

/* ---- ERROR --------------------------------------------------------------------- */

static void error_head(cs_buf *b, uint32_t code, const char *msg)
{
    cs_buf_reset(b);
    u32(b, code);
    str(b, msg);
}

static void expect_error(const cs_buf *b, cql_errc code, int32_t srv, const char *const *parts)
{
    cql_error err;
    assert_int_equal(cql_msg_parse_error(b->data, b->len, &err), -1);
    assert_int_equal(err.code, code);
    assert_int_equal(err.server_code, srv);
    for (; *parts; parts++)
        if (!strstr(err.msg, *parts))
            fail_msg("\"%s\" not in \"%s\"", *parts, err.msg);
    /* Every truncation still gives an error, never a crash. */
    for (size_t n = 0; n < b->len; n++)
        assert_int_equal(cql_msg_parse_error(b->data, n, &err), -1);
}

#define PARTS(...) (const char *const[]){__VA_ARGS__, NULL}

static void test_errors_every_code(void **state)
{
    BUF(b);
    error_head(&b, 0x0000, "boom");
    expect_error(&b, CQL_E_SERVER, 0, PARTS("Server_error", "\"boom\""));
    error_head(&b, 0x000A, "bad frame");
    expect_error(&b, CQL_E_SERVER, 0x000A, PARTS("Protocol_error", "bad frame"));
    error_head(&b, 0x0100, "Provided username x and/or password are incorrect");
    expect_error(&b, CQL_E_AUTH, 0x0100,
                 PARTS("authentication failed: Provided username x and/or password are incorrect"));

    error_head(&b, 0x1000, "Cannot achieve consistency level QUORUM");
    u16(&b, CQL_QUORUM); u32(&b, 2); u32(&b, 1);
    expect_error(&b, CQL_E_SERVER, 0x1000,
                 PARTS("Unavailable", "consistency QUORUM", "2 replicas required, 1 alive"));
    error_head(&b, 0x1001, "overloaded");
    expect_error(&b, CQL_E_SERVER, 0x1001, PARTS("Overloaded"));
    error_head(&b, 0x1002, "bootstrapping");
    expect_error(&b, CQL_E_SERVER, 0x1002, PARTS("Is_bootstrapping"));
    error_head(&b, 0x1003, "truncate failed");
    expect_error(&b, CQL_E_SERVER, 0x1003, PARTS("Truncate_error"));

    error_head(&b, 0x1100, "Operation timed out");
    u16(&b, CQL_ONE); u32(&b, 0); u32(&b, 1); str(&b, "SIMPLE");
    expect_error(&b, CQL_E_SERVER, 0x1100,
                 PARTS("Write_timeout", "consistency ONE", "0 of 1 required replicas acknowledged",
                       "write type SIMPLE"));
    error_head(&b, 0x1100, "CAS timed out");
    u16(&b, CQL_SERIAL); u32(&b, 1); u32(&b, 2); str(&b, "CAS"); u16(&b, 3);
    expect_error(&b, CQL_E_SERVER, 0x1100, PARTS("write type CAS, 3 contentions"));

    error_head(&b, 0x1200, "read timed out");
    u16(&b, CQL_LOCAL_QUORUM); u32(&b, 1); u32(&b, 2); u8(&b, 0);
    expect_error(&b, CQL_E_SERVER, 0x1200,
                 PARTS("Read_timeout", "1 of 2 required replicas answered", "did not answer"));

    /* Read_failure: v5 reason map, then v4 numfailures */
    error_head(&b, 0x1300, "read failed");
    u16(&b, CQL_ONE); u32(&b, 0); u32(&b, 1);
    u32(&b, 1); u8(&b, 4); raw(&b, "\x7f\x00\x00\x02", 4); u16(&b, 1);
    u8(&b, 1);
    expect_error(&b, CQL_E_SERVER, 0x1300,
                 PARTS("Read_failure", "0 of 1", "1 failed (127.0.0.2 reason 0x0001)",
                       "data replica answered"));
    error_head(&b, 0x1300, "read failed");
    u16(&b, CQL_ONE); u32(&b, 0); u32(&b, 1); u32(&b, 2); u8(&b, 0);
    expect_error(&b, CQL_E_SERVER, 0x1300, PARTS("2 failed", "did not answer"));

    error_head(&b, 0x1400, "fn failed");
    str(&b, "ks"); str(&b, "f"); u16(&b, 2); str(&b, "int"); str(&b, "text");
    expect_error(&b, CQL_E_SERVER, 0x1400, PARTS("Function_failure", "function ks.f(int, text)"));

    /* Write_failure: v5 reason map (IPv6), then v4 numfailures */
    error_head(&b, 0x1500, "write failed");
    u16(&b, CQL_ALL); u32(&b, 1); u32(&b, 3);
    u32(&b, 1); u8(&b, 16); raw(&b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16); u16(&b, 0);
    str(&b, "BATCH");
    expect_error(&b, CQL_E_SERVER, 0x1500,
                 PARTS("Write_failure", "consistency ALL", "1 of 3", "1 failed (",
                       "write type BATCH"));
    error_head(&b, 0x1500, "write failed");
    u16(&b, CQL_ALL); u32(&b, 1); u32(&b, 3); u32(&b, 2); str(&b, "COUNTER");
    expect_error(&b, CQL_E_SERVER, 0x1500, PARTS("2 failed; write type COUNTER"));

    error_head(&b, 0x1600, "cdc full");
    expect_error(&b, CQL_E_SERVER, 0x1600, PARTS("CDC_write_failure"));
    error_head(&b, 0x1700, "cas unknown");
    u16(&b, CQL_SERIAL); u32(&b, 1); u32(&b, 2);
    expect_error(&b, CQL_E_SERVER, 0x1700,
                 PARTS("CAS_write_unknown", "consistency SERIAL", "1 of 2"));

    error_head(&b, 0x2000, "line 1:0 no viable alternative at input 'SELEC'");
    expect_error(&b, CQL_E_SERVER, 0x2000,
                 PARTS("Syntax_error: \"line 1:0 no viable alternative at input 'SELEC'\""));
    error_head(&b, 0x2100, "no permission");
    expect_error(&b, CQL_E_SERVER, 0x2100, PARTS("Unauthorized", "no permission"));
    error_head(&b, 0x2200, "unconfigured table t");
    expect_error(&b, CQL_E_SERVER, 0x2200, PARTS("Invalid", "unconfigured table t"));
    error_head(&b, 0x2300, "bad config");
    expect_error(&b, CQL_E_SERVER, 0x2300, PARTS("Config_error"));

    error_head(&b, 0x2400, "exists");
    str(&b, "ks"); str(&b, "");
    expect_error(&b, CQL_E_SERVER, 0x2400, PARTS("Already_exists", "keyspace ks already exists"));
    error_head(&b, 0x2400, "exists");
    str(&b, "ks"); str(&b, "t1");
    expect_error(&b, CQL_E_SERVER, 0x2400, PARTS("table ks.t1 already exists"));

    error_head(&b, 0x2500, "Prepared query with ID 0a0b not found");
    u16(&b, 4); raw(&b, "\x0a\x0b\xc0\xff", 4);
    expect_error(&b, CQL_E_SERVER, 0x2500,
                 PARTS("Unprepared", "statement id 0x0a0bc0ff is not prepared"));

    /* Missing details are said, the message is kept. */
    error_head(&b, 0x1000, "Cannot achieve consistency");
    u16(&b, CQL_ONE);
    cql_error err;
    assert_int_equal(cql_msg_parse_error(b.data, b.len, &err), -1);
    assert_int_equal(err.code, CQL_E_SERVER);
    assert_non_null(strstr(err.msg, "Cannot achieve consistency"));
    assert_non_null(strstr(err.msg, "truncated or malformed"));
    /* Nothing parseable. */
    assert_int_equal(cql_msg_parse_error(b.data, 3, &err), -1);
    assert_int_equal(err.code, CQL_E_PROTOCOL);
    cs_buf_release(&b);
}

/* ---- RESULT ---------------------------------------------------------------------- */

/* Every prefix of a valid RESULT body is rejected, never read past. */
static void check_prefixes_fail(const cs_buf *b, int version)
{
    for (size_t n = 0; n < b->len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
        memcpy(copy, b->data, n);
        cql_result_body r;
        cql_error err;
        int rc = cql_result_parse(&r, version, copy, n, NULL, &err);
        if (rc == 0) {
            /* Only a prefix that is itself complete may parse (a Void). */
            cql_result_body_release(&r);
        } else {
            assert_int_equal(err.code, CQL_E_PROTOCOL);
        }
        free(copy);
    }
}

static void test_result_void_and_keyspace(void **state)
{
    BUF(b);
    u32(&b, 1);
    cql_result_body r;
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, NULL), 0);
    assert_int_equal(r.kind, CQL_RESULT_VOID);
    cql_result_body_release(&r);
    cs_buf_reset(&b);
    u32(&b, 3);
    str(&b, "my_ks");
    assert_int_equal(cql_result_parse(&r, 4, b.data, b.len, NULL, NULL), 0);
    assert_string_equal(r.keyspace, "my_ks");
    cql_result_body_release(&r);
    check_prefixes_fail(&b, 4);
    cs_buf_reset(&b);
    u32(&b, 9);
    cql_error err;
    assert_int_equal(cql_result_parse(&r, 4, b.data, b.len, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "unknown kind 9"));
    cs_buf_release(&b);
}

static void test_result_rows(void **state)
{
    BUF(b);
    /* global table spec + more pages, 2 columns, 3 rows with a null */
    u32(&b, 2);
    u32(&b, 0x01 | 0x02);
    u32(&b, 2);
    bytes(&b, "PS");
    str(&b, "ks"); str(&b, "tb");
    str(&b, "k"); u16(&b, 0x09);
    str(&b, "v"); u16(&b, 0x20); u16(&b, 0x0D);
    u32(&b, 3);
    bytes(&b, "a"); bytes(&b, NULL);
    bytes(&b, "bb"); bytes(&b, "");
    bytes(&b, "ccc"); bytes(&b, "x");
    cql_result_body r;
    cql_error err;
    assert_int_equal(cql_result_parse(&r, 4, b.data, b.len, NULL, &err), 0);
    assert_int_equal(r.kind, CQL_RESULT_ROWS);
    cql_rows *rows = &r.rows;
    assert_int_equal(rows->nrows, 3);
    assert_int_equal(rows->ncols, 2);
    assert_int_equal(rows->meta.paging_state_len, 2);
    assert_memory_equal(rows->meta.paging_state, "PS", 2);
    assert_string_equal(rows->meta.cols[1].keyspace, "ks");
    assert_string_equal(rows->meta.cols[1].table, "tb");
    assert_string_equal(rows->meta.cols[1].name, "v");
    assert_int_equal(rows->meta.cols[0].type->id, CQL_T_INT);
    assert_int_equal(rows->meta.cols[1].type->id, CQL_T_LIST);
    assert_null(rows->vals[1]);
    assert_int_equal(rows->lens[1], -1);
    assert_int_equal(rows->lens[3], 0);
    assert_non_null(rows->vals[3]);
    assert_int_equal(rows->lens[4], 3);
    assert_memory_equal(rows->vals[4], "ccc", 3);
    assert_true(rows->vals[4] > b.data && rows->vals[4] < b.data + b.len); /* points into body */
    cql_result_body_release(&r);
    check_prefixes_fail(&b, 4);

    /* per-column table specs, no more pages */
    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0); u32(&b, 1);
    str(&b, "k1"); str(&b, "t1"); str(&b, "c"); u16(&b, 0x0D);
    u32(&b, 1); bytes(&b, "z");
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, &err), 0);
    assert_string_equal(r.rows.meta.cols[0].keyspace, "k1");
    assert_null(r.rows.meta.paging_state);
    cql_result_body_release(&r);

    /* no metadata (skip_metadata), v5 metadata changed with a new id */
    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0x04 | 0x02); u32(&b, 2); bytes(&b, "P");
    u32(&b, 1); bytes(&b, "1"); bytes(&b, "2");
    cql_metadata prep = {.ncols = 2};
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, &prep, &err), 0);
    assert_null(r.rows.meta.cols);
    assert_int_equal(r.rows.nrows, 1);
    assert_memory_equal(r.rows.vals[1], "2", 1);
    cql_result_body_release(&r);
    cql_metadata wrong = {.ncols = 3};
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, &wrong, &err), -1);

    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0x08 | 0x01); u32(&b, 1);
    u16(&b, 2); raw(&b, "\x01\x02", 2);
    str(&b, "ks"); str(&b, "t"); str(&b, "a"); u16(&b, 0x02);
    u32(&b, 0);
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, &err), 0);
    assert_int_equal(r.rows.meta.new_metadata_id_len, 2);
    assert_memory_equal(r.rows.meta.new_metadata_id, "\x01\x02", 2);
    assert_int_equal(r.rows.meta.cols[0].type->id, CQL_T_BIGINT);
    assert_int_equal(r.rows.nrows, 0);
    cql_result_body_release(&r);
    check_prefixes_fail(&b, 5);

    /* counts that cannot fit are refused before allocating */
    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0x04); u32(&b, 0x7FFFFFFF); u32(&b, 0x7FFFFFFF);
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "cannot fit"));
    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0); u32(&b, 0x10000000);
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, &err), -1);
    cs_buf_reset(&b);
    u32(&b, 2); u32(&b, 0x04); u32(&b, 1); u32(&b, 0xFFFFFFFF);
    assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, &err), -1);
    cs_buf_release(&b);
}

static void prepared_body(cs_buf *b, int version)
{
    u32(b, 4);
    u16(b, 4); raw(b, "\xde\xad\xbe\xef", 4);
    if (version >= 5) {
        u16(b, 2); raw(b, "\x77\x88", 2);
    }
    /* bind metadata: global spec, 2 markers, pk indexes [1, 0] */
    u32(b, 0x01); u32(b, 2); u32(b, 2); u16(b, 1); u16(b, 0);
    str(b, "ks"); str(b, "t");
    str(b, "a"); u16(b, 0x0D);
    str(b, "b"); u16(b, 0x21); u16(b, 0x0D); u16(b, 0x09);
    /* result metadata: none (not a SELECT) */
    u32(b, 0x04); u32(b, 0);
}

static void test_result_prepared(void **state)
{
    for (int version = 4; version <= 5; version++) {
        BUF(b);
        prepared_body(&b, version);
        cql_result_body r;
        cql_error err;
        assert_int_equal(cql_result_parse(&r, version, b.data, b.len, NULL, &err), 0);
        cql_prepared_info *p = &r.prepared;
        assert_int_equal(p->id_len, 4);
        assert_memory_equal(p->id, "\xde\xad\xbe\xef", 4);
        if (version == 5) {
            assert_int_equal(p->result_md_id_len, 2);
            assert_memory_equal(p->result_md_id, "\x77\x88", 2);
        } else {
            assert_null(p->result_md_id);
        }
        assert_int_equal(p->bind.ncols, 2);
        assert_int_equal(p->bind.npk, 2);
        assert_int_equal(p->bind.pk_index[0], 1);
        assert_int_equal(p->bind.pk_index[1], 0);
        assert_string_equal(p->bind.cols[1].name, "b");
        assert_int_equal(p->bind.cols[1].type->id, CQL_T_MAP);
        assert_int_equal(p->result.ncols, 0);
        assert_null(p->result.cols);
        cql_result_body_release(&r);
        check_prefixes_fail(&b, version);
        cs_buf_release(&b);
    }
}

static void test_result_schema_change(void **state)
{
    static const struct { const char *target; const char *want_name; } cases[] = {
        {"KEYSPACE", NULL}, {"TABLE", "t"}, {"TYPE", "t"},
        {"FUNCTION", "t(int, frozen<list<text>>)"}, {"AGGREGATE", "t()"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        BUF(b);
        u32(&b, 5);
        str(&b, "CREATED");
        str(&b, cases[i].target);
        str(&b, "ks");
        if (cases[i].want_name)
            str(&b, "t");
        if (strcmp(cases[i].target, "FUNCTION") == 0) {
            u16(&b, 2); str(&b, "int"); str(&b, "frozen<list<text>>");
        } else if (strcmp(cases[i].target, "AGGREGATE") == 0) {
            u16(&b, 0);
        }
        cql_result_body r;
        assert_int_equal(cql_result_parse(&r, 5, b.data, b.len, NULL, NULL), 0);
        assert_string_equal(r.schema.change_type, "CREATED");
        assert_string_equal(r.schema.target, cases[i].target);
        assert_string_equal(r.schema.keyspace, "ks");
        if (cases[i].want_name)
            assert_string_equal(r.schema.name, cases[i].want_name);
        else
            assert_null(r.schema.name);
        cql_result_body_release(&r);
        check_prefixes_fail(&b, 5);
        cs_buf_release(&b);
    }
}

/* ---- captured server bodies -------------------------------------------------------- */

/* The v4 capture is a plain envelope stream: answer bodies by stream id. */
static void test_captured_bodies(void **state)
{
    size_t n;
    uint8_t *p = test_data_load("v4.resp", &n);
    int seen = 0;
    for (size_t off = 0; off + 9 <= n;) {
        int16_t stream = (int16_t)cs_be16(p + off + 2);
        uint8_t op = p[off + 4];
        size_t len = cs_be32(p + off + 5);
        const uint8_t *body = p + off + 9;
        cql_result_body r;
        cql_error err;
        switch (stream) {
        case 1: { /* SUPPORTED */
            assert_int_equal(op, CQL_OP_SUPPORTED);
            char *c = cql_supported_get(body, len, "COMPRESSION");
            assert_non_null(c);
            assert_non_null(strstr(c, "lz4"));
            free(c);
            c = cql_supported_get(body, len, "PROTOCOL_VERSIONS");
            assert_non_null(strstr(c, "4/v4,5/v5"));
            free(c);
            assert_null(cql_supported_get(body, len, "NOPE"));
            break;
        }
        case 2: /* SELECT release_version */
            assert_int_equal(cql_result_parse(&r, 4, body, len, NULL, &err), 0);
            assert_int_equal(r.kind, CQL_RESULT_ROWS);
            assert_string_equal(r.rows.meta.cols[0].name, "release_version");
            assert_int_equal(r.rows.nrows, 1);
            assert_memory_equal(r.rows.vals[0], "5.0", 3);
            cql_result_body_release(&r);
            break;
        case 3: /* syntax error */
            assert_int_equal(cql_msg_parse_error(body, len, &err), -1);
            assert_int_equal(err.server_code, CQL_SRV_SYNTAX_ERROR);
            assert_non_null(strstr(err.msg, "Syntax_error: \"line 1:0 no viable alternative"));
            break;
        case 4: /* paged */
            assert_int_equal(cql_result_parse(&r, 4, body, len, NULL, &err), 0);
            assert_int_equal(r.rows.nrows, 5);
            assert_true(r.rows.meta.flags & 0x02);
            assert_non_null(r.rows.meta.paging_state);
            cql_result_body_release(&r);
            break;
        case 5: /* prepared, partition key is marker 0 */
            assert_int_equal(cql_result_parse(&r, 4, body, len, NULL, &err), 0);
            assert_int_equal(r.kind, CQL_RESULT_PREPARED);
            assert_int_equal(r.prepared.id_len, 16);
            assert_int_equal(r.prepared.bind.npk, 1);
            assert_int_equal(r.prepared.bind.pk_index[0], 0);
            assert_int_equal(r.prepared.result.ncols, 2);
            cql_result_body_release(&r);
            break;
        case 6: /* Invalid: key too long */
            assert_int_equal(cql_msg_parse_error(body, len, &err), -1);
            assert_int_equal(err.server_code, CQL_SRV_INVALID);
            break;
        case 7:
            /* The column is named after the 150 KB selector text, and
             * Cassandra 5.0.6 writes that [string] with its length cut to
             * 16 bits (150021 mod 65536): the body is malformed, and the
             * parser must say so rather than read garbage as types. */
            assert_int_equal(cs_be16(body + 4 * 3 + 2 + 6 + 2 + 5), 150021 % 65536);
            assert_int_equal(cql_result_parse(&r, 4, body, len, NULL, &err), -1);
            assert_int_equal(err.code, CQL_E_PROTOCOL);
            break;
        }
        if (stream > 0)
            seen |= 1 << stream;
        off += 9 + len;
    }
    assert_int_equal(seen, 0xFE);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_startup_and_auth),
        cmocka_unit_test(test_query_params_v4_v5),
        cmocka_unit_test(test_prepare_execute),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_consistency),
        cmocka_unit_test(test_errors_every_code),
        cmocka_unit_test(test_result_void_and_keyspace),
        cmocka_unit_test(test_result_rows),
        cmocka_unit_test(test_result_prepared),
        cmocka_unit_test(test_result_schema_change),
        cmocka_unit_test(test_captured_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
