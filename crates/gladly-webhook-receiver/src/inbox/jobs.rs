//! The inbox's writes as typed jobs: each carries its arguments and where
//! its own answer goes. A batch of jobs is run in one transaction by the
//! same code on both backends (each backend's writing task commits every
//! job queued while it was busy together): the inserts first, in one path
//! ([`writes::insert_many`]), then the rest in order.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::backend::Conn;
use super::writes;
use super::{Claimed, InboxError, Inserted, NewEvent, Outcome, RequeueRange, State};

/// Where a job's answer goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, InboxError>>;

/// A write, with where its answer goes.
pub(crate) enum Job {
    /// Store a delivery.
    Insert(NewEvent, Reply<Inserted>),
    /// Lease the next due row for this long.
    Claim(Duration, Reply<Option<Claimed>>),
    /// Extend a lease.
    Extend {
        seq: i64,
        lease_token: i64,
        lease: Duration,
        reply: Reply<bool>,
    },
    /// Record a run's outcome.
    Finish {
        seq: i64,
        lease_token: i64,
        outcome: Outcome,
        reply: Reply<bool>,
    },
    /// Put a dead row back to pending.
    Requeue(String, Reply<bool>),
    /// Run a done row again.
    Rerun(String, Reply<bool>),
    /// Save a named cursor.
    SetCursor {
        name: String,
        value: String,
        reply: Reply<()>,
    },
    /// Put the finished rows of a range back to pending (checked: dead or
    /// done rows, a range that is not empty).
    RequeueRange(RequeueRange, Reply<u64>),
    /// Delete what finished before the retention.
    Purge(Duration, Reply<u64>),
}

impl Job {
    /// Whether the job makes work for workers (announced to other
    /// processes' workers on PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn makes_work(&self) -> bool {
        match self {
            Self::Insert(event, _) => event.state == State::Pending,
            Self::Requeue(..) | Self::Rerun(..) | Self::RequeueRange(..) => true,
            _ => false,
        }
    }
}

/// What a job's caller gets once its batch is over: its own result if the
/// batch committed, the batch's error if it did not.
pub(crate) struct Answer(Box<dyn Deliver>);

/// Sends a job's result, or the batch's error.
trait Deliver: FnOnce(Option<&InboxError>) + Send {}

impl<F: FnOnce(Option<&InboxError>) + Send> Deliver for F {}

impl Answer {
    fn new<T: Send + 'static>(reply: Reply<T>, result: Result<T, InboxError>) -> Self {
        Self(Box::new(move |failed| {
            let _ = reply.send(match failed {
                Some(err) => Err(err.shared()),
                None => result,
            });
        }))
    }

    /// Answers: the job's result, or `failed` (the batch's error).
    pub(crate) fn send(self, failed: Option<&InboxError>) {
        (self.0)(failed)
    }
}

/// Runs `jobs` in the transaction `conn` is in, at `now`: each job's
/// answer, to send once the transaction is over; or, at the first database
/// error (which spoils the transaction), that error and every answer (to
/// be sent the error).
pub(crate) async fn run_batch(
    mut conn: Conn<'_>,
    jobs: Vec<Job>,
    now: DateTime<Utc>,
) -> Result<Vec<Answer>, (InboxError, Vec<Answer>)> {
    let mut answers = Vec::with_capacity(jobs.len());
    let (inserts, others): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|job| matches!(job, Job::Insert(..)));
    let mut events = Vec::with_capacity(inserts.len());
    let mut replies = Vec::with_capacity(inserts.len());
    for job in inserts {
        if let Job::Insert(event, reply) = job {
            events.push(event);
            replies.push(reply);
        }
    }
    let mut failure = None;
    if !events.is_empty() {
        match writes::insert_many(conn.reborrow(), &events, now).await {
            Ok(inserted) => answers.extend(
                replies
                    .into_iter()
                    .zip(inserted)
                    .map(|(reply, i)| Answer::new(reply, Ok(i))),
            ),
            Err(err) => {
                failure = Some(err);
                answers.extend(
                    replies
                        .into_iter()
                        .map(|r| Answer::new(r, Err(InboxError::Closed))),
                );
            }
        }
    }
    for job in others {
        if failure.is_some() {
            answers.push(Answer::refused(job));
            continue;
        }
        match run_one(conn.reborrow(), job, now).await {
            Ok(answer) => answers.push(answer),
            Err((err, answer)) => {
                failure = Some(err);
                answers.push(answer);
            }
        }
    }
    match failure {
        None => Ok(answers),
        Some(err) => Err((err, answers)),
    }
}

impl Answer {
    /// The answer to a job not run because its batch failed before it
    /// (answered with the batch's error).
    pub(crate) fn refused(job: Job) -> Self {
        fn closed<T: Send + 'static>(reply: Reply<T>) -> Answer {
            Answer::new(reply, Err(InboxError::Closed))
        }
        match job {
            Job::Insert(_, reply) => closed(reply),
            Job::Claim(_, reply) => closed(reply),
            Job::Extend { reply, .. } | Job::Finish { reply, .. } => closed(reply),
            Job::Requeue(_, reply) | Job::Rerun(_, reply) => closed(reply),
            Job::SetCursor { reply, .. } => closed(reply),
            Job::RequeueRange(_, reply) | Job::Purge(_, reply) => closed(reply),
        }
    }
}

/// Runs one job (not an insert) in the transaction `conn` is in: its
/// answer, or a database error (which spoils the transaction) with it.
async fn run_one(
    conn: Conn<'_>,
    job: Job,
    now: DateTime<Utc>,
) -> Result<Answer, (InboxError, Answer)> {
    macro_rules! answer {
        ($reply:expr, $result:expr) => {
            match $result {
                Err(err @ InboxError::Database(_)) => {
                    let answer = Answer::new($reply, Err(InboxError::Closed));
                    Err((err, answer))
                }
                other => Ok(Answer::new($reply, other)),
            }
        };
    }
    match job {
        Job::Insert(event, reply) => {
            answer!(
                reply,
                writes::insert_many(conn, &[event], now)
                    .await
                    .map(|mut i| i.remove(0))
            )
        }
        Job::Claim(lease, reply) => answer!(reply, writes::claim(conn, lease, now).await),
        Job::Extend {
            seq,
            lease_token,
            lease,
            reply,
        } => {
            answer!(
                reply,
                writes::extend(conn, seq, lease_token, lease, now).await
            )
        }
        Job::Finish {
            seq,
            lease_token,
            outcome,
            reply,
        } => {
            answer!(
                reply,
                writes::finish(conn, seq, lease_token, outcome, now).await
            )
        }
        Job::Requeue(key, reply) => answer!(reply, writes::requeue(conn, &key, now).await),
        Job::Rerun(key, reply) => answer!(reply, writes::rerun(conn, &key, now).await),
        Job::SetCursor { name, value, reply } => {
            answer!(reply, writes::set_cursor(conn, &name, &value, now).await)
        }
        Job::RequeueRange(range, reply) => {
            answer!(reply, writes::requeue_range(conn, &range, now).await)
        }
        Job::Purge(retention, reply) => answer!(reply, writes::purge(conn, retention, now).await),
    }
}

impl InboxError {
    /// The same error, for every caller of a failed batch.
    pub(crate) fn shared(&self) -> Self {
        match self {
            Self::Database(err) => Self::Database(Arc::clone(err)),
            other => Self::Corrupt(other.to_string()),
        }
    }
}
