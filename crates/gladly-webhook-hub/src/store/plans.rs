//! Issue 39: the plans of the dispatcher's hot statements on PostgreSQL
//! once `ANALYZE` has run, on tables shaped as a hub that has run a while
//! has them (thousands of finished deliveries, a few pending): each reads
//! a subscription's range or a delivery by its key, never every delivery;
//! and no insert into the hot tables runs a foreign key's check. Not
//! timed: the plan is the check.

use super::backend::Db;
use super::leases::CLAIM_ANY_DUE;
use super::outbox::{DELIVERED, NEXT_DUE, NEXT_DUE_AT};
use super::successes::{DELIVERED_AT, DELIVERED_HEAD, DELIVERED_IDS};

/// 20 subscriptions, 1,000 events delivered to each (20,000 finished
/// deliveries), then one more event pending for each; then `ANALYZE`.
const SHAPE: &str = "
INSERT INTO hub_webhooks (id, url, url_key, events, secret, active, created_at, modified_at)
  SELECT 'wh_' || n, 'https://example.com/' || n, 'example.com/' || n, '[\"TASK_CLOSED\"]', 's', TRUE, 0, 0
  FROM generate_series(1, 20) AS n;
INSERT INTO hub_events (event_id, event_type, body, received_sha256, published_at)
  SELECT 'evt_' || n, 'TASK_CLOSED', convert_to('{}', 'UTF8'), 'x', n FROM generate_series(1, 1001) AS n;
INSERT INTO hub_deliveries (id, webhook_id, event_seq, state, attempts, next_attempt_at, created_at, finished_at)
  SELECT 'dlv_' || w || '_' || e.seq, 'wh_' || w, e.seq,
         CASE WHEN e.seq > 1000 THEN 'pending' ELSE 'delivered' END, 1, e.seq, e.seq,
         CASE WHEN e.seq > 1000 THEN NULL ELSE e.seq END
  FROM generate_series(1, 20) AS w CROSS JOIN hub_events e;
ANALYZE;
";

/// Every node of `sql`'s plan: its type, relation and index (empty when
/// it has none).
async fn plan(pool: &sqlx::PgPool, sql: &str) -> Vec<Node> {
    let explain = format!("EXPLAIN (FORMAT JSON) {sql}");
    let row = sqlx::query(sqlx::AssertSqlSafe(explain))
        .fetch_one(pool)
        .await
        .unwrap();
    // `json` in PostgreSQL's binary format is its text.
    let text: String = sqlx::Row::try_get_unchecked(&row, 0).unwrap();
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut nodes = Vec::new();
    walk(&plan[0]["Plan"], &mut nodes);
    nodes
}

/// A plan node: `(type, relation, index)`.
type Node = (String, String, String);

fn walk(node: &serde_json::Value, nodes: &mut Vec<Node>) {
    let text = |key: &str| node[key].as_str().unwrap_or_default().to_string();
    nodes.push((text("Node Type"), text("Relation Name"), text("Index Name")));
    for child in node["Plans"].as_array().into_iter().flatten() {
        walk(child, nodes);
    }
}

fn uses(nodes: &[Node], index: &str) -> bool {
    nodes.iter().any(|(_, _, i)| i == index)
}

/// No node reads all of `hub_deliveries` (a sequential scan) or one of its
/// indexes across every subscription.
fn reads_no_whole_outbox(what: &str, nodes: &[Node]) {
    for (kind, relation, index) in nodes {
        assert!(
            !(kind == "Seq Scan" && relation == "hub_deliveries"),
            "{what} scans every delivery: {nodes:?}"
        );
        assert!(
            !matches!(
                index.as_str(),
                "hub_deliveries_due" | "hub_deliveries_event" | "hub_deliveries_webhook"
            ),
            "{what} walks {index}: {nodes:?}"
        );
    }
}

/// `sql` with `$1`... replaced by `values`, from the highest number down
/// (so `$1` does not match the start of `$10`).
fn filled(sql: &str, values: &[&str]) -> String {
    let mut out = sql.to_string();
    for (n, value) in values.iter().enumerate().rev() {
        out = out.replace(&format!("${}", n + 1), value);
    }
    out
}

#[tokio::test]
async fn hot_statements_keep_their_indexes_after_analyze() {
    let Some(database) = gladly_webhook_testkit::TestDatabase::create("gladly_hub_plans", "store")
    else {
        return;
    };
    let store = super::Store::open(database.url()).await.unwrap();
    let Db::Postgres(pool) = store.pool() else {
        panic!("a PostgreSQL store");
    };
    sqlx::raw_sql(SHAPE).execute(pool).await.unwrap();

    let far = "9999999999999";
    // A subscription's next deliveries (the window): its own range.
    let next = plan(
        pool,
        &filled(NEXT_DUE, &["'wh_7'", "1", "64", "2097152", "0", far]),
    )
    .await;
    assert!(
        uses(&next, "hub_deliveries_queue") || uses(&next, "hub_deliveries_webhook_due"),
        "{next:?}"
    );
    reads_no_whole_outbox("the next deliveries", &next);
    // A success, one delivery and a batch: the primary key.
    let one = plan(pool, &filled(DELIVERED, &["'dlv_7_1001'", "1", "5"])).await;
    assert!(uses(&one, "hub_deliveries_pkey"), "{one:?}");
    reads_no_whole_outbox("a success", &one);
    let ids: Vec<String> = (1..=16).map(|w| format!("'dlv_{w}_1001'")).collect();
    let batch = format!(
        "{DELIVERED_HEAD}1{DELIVERED_AT}5{DELIVERED_IDS}{})",
        ids.join(", ")
    );
    let batch = plan(pool, &batch).await;
    assert!(uses(&batch, "hub_deliveries_pkey"), "{batch:?}");
    reads_no_whole_outbox("a batch of successes", &batch);
    // The claim and the next due time: a probe of each subscription's due
    // index (a subquery), not a join over every pending delivery.
    let claim = plan(pool, &filled(CLAIM_ANY_DUE, &[far, far, "1", "8"])).await;
    assert!(uses(&claim, "hub_deliveries_webhook_due"), "{claim:?}");
    assert!(
        claim
            .iter()
            .filter(|(_, relation, _)| relation == "hub_deliveries")
            .all(|(_, _, index)| index == "hub_deliveries_webhook_due"),
        "every read of the deliveries is a probe of one subscription's: {claim:?}"
    );
    reads_no_whole_outbox("the claim", &claim);
    let due = plan(pool, NEXT_DUE_AT).await;
    assert!(uses(&due, "hub_deliveries_webhook_due"), "{due:?}");
    reads_no_whole_outbox("the next due time", &due);

    // No row of the hot tables is checked against another table: such a
    // check runs a cached plan, made once (bad while the table was small)
    // and kept however the table grows (migration 0011).
    let checked: Vec<(String, String)> = sqlx::query_as(
        "SELECT conrelid::regclass::text, conname::text FROM pg_constraint \
         WHERE contype = 'f' AND conrelid IN ('hub_deliveries'::regclass, 'hub_attempts'::regclass)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        checked.is_empty(),
        "foreign keys on the hot tables: {checked:?}"
    );
}
