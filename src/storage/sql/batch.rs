//! Calls of one kind run together while one of their kind is in flight: [`Batch`].
//!
//! At most one statement of each kind is in flight at a time (group commit). A call that finds
//! none in flight yields once to the tasks that are ready, so that the calls they make at the
//! same moment queue behind it, then runs its own statement with them. One that finds a
//! statement of its kind in flight joins the queue of its kind and waits both for its kind's
//! turn and for an answer. Whichever queued call gets the turn first gets a connection, then
//! takes the queued calls (its own first) and runs them as one statement, and answers the
//! others, which then return without running anything. Under load one statement and one round
//! trip serve many requests; without load, a call waits for nothing but its one yield.
//!
//! A queued call that is cancelled (its request timed out or went away) leaves the queue at
//! once, so it is never run later, after a newer write of the same session; calls are taken
//! only by a call that holds a connection, right before its statement is sent. A call whose
//! statement failed tells the calls it took to run their own ([`Turn::Rerun`]). A call that
//! went away after taking others (cancelled while its statement ran) leaves them
//! [`Turn::Abandoned`]: its statement may still be applied by the database, so a write must
//! report that its outcome is unknown rather than run again, which that late statement could
//! then undo.

use std::sync::{Mutex, PoisonError};

use tokio::sync::{Semaphore, SemaphorePermit, oneshot};

/// The most calls one statement runs.
pub(crate) const MAX_BATCH: usize = 64;

/// The queue of one kind of call: inputs `I`, answers `O`.
pub(crate) struct Batch<I, O> {
    queue: Mutex<Queue<I, O>>,
    /// The turn to run a statement of this kind: one permit.
    turn: Semaphore,
}

struct Queue<I, O> {
    next_ticket: u64,
    waiting: Vec<Waiting<I, O>>,
}

/// What a queued call receives from the call that took it: an answer, or word that the
/// statement failed and the call must run its own.
type Reply<O> = Result<O, Rerun>;

/// The statement that carried a call failed: nothing of it was applied.
#[derive(Debug)]
pub(crate) struct Rerun;

struct Waiting<I, O> {
    ticket: u64,
    input: I,
    answer: oneshot::Sender<Reply<O>>,
}

/// A place in the queue. Dropped before it is taken, it leaves the queue.
struct Place<'a, I, O> {
    batch: &'a Batch<I, O>,
    ticket: u64,
    /// Where the call's answer arrives if another call runs it.
    answer: oneshot::Receiver<Reply<O>>,
}

/// The turn, for a call that is queued with others: it gets a connection, then
/// [`take`](Leader::take)s the queued calls. Dropped before, it leaves the queue and hands the
/// turn on, and the others wait for the next call to get it.
pub(crate) struct Leader<'a, I, O> {
    turn: SemaphorePermit<'a>,
    place: Place<'a, I, O>,
}

/// Calls taken from the queue to run as one statement, and where each answer goes. Dropped
/// without [`answer`](Taken::answer) or [`rerun`](Taken::rerun), its calls are
/// [abandoned](Turn::Abandoned).
pub(crate) struct Taken<I, O> {
    pub(crate) inputs: Vec<I>,
    answers: Vec<oneshot::Sender<Reply<O>>>,
}

impl<I, O> Default for Batch<I, O> {
    fn default() -> Self {
        Batch {
            queue: Mutex::new(Queue {
                next_ticket: 0,
                waiting: Vec::new(),
            }),
            turn: Semaphore::new(1),
        }
    }
}

/// Whose turn it is, for a call of a [`Batch`].
pub(crate) enum Turn<'a, I, O> {
    /// No statement of this kind is in flight and no call is queued: run this call's own,
    /// holding the turn.
    Alone(SemaphorePermit<'a>),
    /// Get a connection, then take the queued calls and run them, holding the turn.
    Leads(Leader<'a, I, O>),
    /// Another call ran this one: its answer.
    Answered(O),
    /// The statement that carried this call failed: run this call's own, without the turn.
    Rerun,
    /// The call that took this one went away while its statement ran, which the database
    /// may still apply.
    Abandoned,
}

impl<I, O> Batch<I, O> {
    /// Waits for this call's turn, queued with `input` while a statement of its kind is in
    /// flight. Cancel-safe: dropped while queued, the call leaves the queue.
    pub(crate) async fn turn(&self, input: impl FnOnce() -> I) -> Turn<'_, I, O> {
        if let Ok(turn) = self.turn.try_acquire() {
            // Nothing of this kind is in flight. Let the tasks that are ready now run first:
            // the calls they make meanwhile queue behind this one and go in its statement.
            tokio::task::yield_now().await;
            if self.lock().waiting.is_empty() {
                return Turn::Alone(turn);
            }
            let place = self.join(input());
            return Turn::Leads(Leader { turn, place });
        }
        let mut place = self.join(input());
        tokio::select! {
            biased;
            answer = &mut place.answer => Turn::of(answer),
            turn = self.turn.acquire() => {
                let Ok(turn) = turn else { return Turn::Abandoned };
                if place.is_queued() {
                    return Turn::Leads(Leader { turn, place });
                }
                // Taken meanwhile by the call before: its answer is coming.
                drop(turn);
                Turn::of((&mut place.answer).await)
            }
        }
    }

    /// Queues a call.
    fn join(&self, input: I) -> Place<'_, I, O> {
        let (sender, answer) = oneshot::channel();
        let mut queue = self.lock();
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        queue.waiting.push(Waiting {
            ticket,
            input,
            answer: sender,
        });
        Place {
            batch: self,
            ticket,
            answer,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<I, O>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<'a, I, O> Turn<'a, I, O> {
    fn of(reply: Result<Reply<O>, oneshot::error::RecvError>) -> Self {
        match reply {
            Ok(Ok(answer)) => Turn::Answered(answer),
            Ok(Err(Rerun)) => Turn::Rerun,
            Err(_) => Turn::Abandoned,
        }
    }
}

impl<'a, I, O> Leader<'a, I, O> {
    /// For the call that holds the turn and a connection: the turn, and its own input with up
    /// to [`MAX_BATCH`] - 1 other waiting calls, oldest first, each of which `fits` with those
    /// taken before it (an update takes one call per row: two updates of one row in one
    /// statement would write one of them). Calls whose callers have gone away are left out.
    pub(crate) fn take(
        self,
        fits: impl Fn(&[I], &I) -> bool,
    ) -> (SemaphorePermit<'a>, Taken<I, O>) {
        let taken = self.place.take(fits).unwrap_or(Taken {
            inputs: Vec::new(),
            answers: Vec::new(),
        });
        (self.turn, taken)
    }
}

impl<I, O> Place<'_, I, O> {
    fn is_queued(&self) -> bool {
        self.batch
            .lock()
            .waiting
            .iter()
            .any(|w| w.ticket == self.ticket)
    }

    /// This call's input and the calls that [`Leader::take`] takes with it; `None` if another
    /// call has taken this one already (which only the holder of the turn does).
    fn take(&self, fits: impl Fn(&[I], &I) -> bool) -> Option<Taken<I, O>> {
        let mut queue = self.batch.lock();
        let own = queue.waiting.iter().position(|w| w.ticket == self.ticket)?;
        let first = queue.waiting.remove(own);
        let mut taken = Taken {
            inputs: vec![first.input],
            answers: vec![first.answer],
        };
        let mut at = 0;
        while at < queue.waiting.len() && taken.inputs.len() < MAX_BATCH {
            let candidate = queue
                .waiting
                .get(at)
                .filter(|w| !w.answer.is_closed() && fits(&taken.inputs, &w.input));
            if candidate.is_some() {
                let next = queue.waiting.remove(at);
                taken.inputs.push(next.input);
                taken.answers.push(next.answer);
            } else {
                at += 1;
            }
        }
        Some(taken)
    }
}

impl<I, O> Drop for Place<'_, I, O> {
    fn drop(&mut self) {
        let mut queue = self.batch.lock();
        if let Some(at) = queue.waiting.iter().position(|w| w.ticket == self.ticket) {
            queue.waiting.remove(at);
        }
    }
}

impl<I, O> Taken<I, O> {
    /// Sends each other call its answer, in the order of [`inputs`](Self::inputs) (the first
    /// answer, the taker's own, is returned). Calls left without an answer (fewer answers than
    /// inputs) are told to run their own.
    pub(crate) fn answer(self, answers: impl IntoIterator<Item = O>) -> Option<O> {
        let mut answers = answers.into_iter();
        let own = answers.next();
        for sender in self.answers.into_iter().skip(1) {
            // A caller that has gone away needs no answer.
            let _ = sender.send(answers.next().ok_or(Rerun));
        }
        own
    }

    /// The statement failed, so nothing of it was applied: each other call runs its own.
    pub(crate) fn rerun(&mut self) {
        for sender in std::mem::take(&mut self.answers).into_iter().skip(1) {
            let _ = sender.send(Err(Rerun));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::{Pin, pin};
    use std::task::{Context, Poll, Waker};

    use super::*;

    fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn any(_: &[u32], _: &u32) -> bool {
        true
    }

    /// A call with nothing of its kind in flight: it yields once, then runs alone.
    fn alone(batch: &Batch<u32, u32>, input: u32) -> SemaphorePermit<'_> {
        let mut call = Box::pin(batch.turn(move || input));
        assert!(
            poll(call.as_mut()).is_pending(),
            "it lets the ready tasks run first"
        );
        let Poll::Ready(Turn::Alone(turn)) = poll(call.as_mut()) else {
            panic!("with nothing in flight and nothing queued, a call runs alone");
        };
        turn
    }

    #[test]
    fn calls_behind_a_statement_in_flight_are_run_together_by_the_first_to_get_the_turn() {
        let batch: Batch<u32, u32> = Batch::default();
        let first = alone(&batch, 0);
        let mut b = pin!(batch.turn(|| 1));
        let mut c = pin!(batch.turn(|| 2));
        assert!(poll(b.as_mut()).is_pending());
        assert!(poll(c.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(Turn::Leads(leader)) = poll(b.as_mut()) else {
            panic!("the first queued call gets the turn");
        };
        // The calls are taken only once the leader has its connection: until then a call
        // that goes away is not run.
        assert!(poll(c.as_mut()).is_pending(), "c waits for its answer");
        let (turn, taken) = leader.take(any);
        assert_eq!(taken.inputs, vec![1, 2]);
        assert_eq!(taken.answer([10, 20]), Some(10));
        assert!(matches!(poll(c.as_mut()), Poll::Ready(Turn::Answered(20))));
        drop(turn);
        drop(alone(&batch, 3));
    }

    #[test]
    fn calls_made_while_the_first_call_yields_go_in_its_statement() {
        let batch: Batch<u32, u32> = Batch::default();
        let mut first = pin!(batch.turn(|| 0));
        assert!(poll(first.as_mut()).is_pending());
        let mut b = pin!(batch.turn(|| 1));
        assert!(poll(b.as_mut()).is_pending());
        let Poll::Ready(Turn::Leads(leader)) = poll(first.as_mut()) else {
            panic!("the first call runs the calls queued meanwhile");
        };
        let (turn, taken) = leader.take(any);
        assert_eq!(taken.inputs, vec![0, 1]);
        assert_eq!(taken.answer([0, 10]), Some(0));
        assert!(matches!(poll(b.as_mut()), Poll::Ready(Turn::Answered(10))));
        drop(turn);
    }

    #[test]
    fn a_queued_call_that_is_cancelled_is_never_run() {
        let batch: Batch<u32, u32> = Batch::default();
        let first = alone(&batch, 0);
        let mut b = pin!(batch.turn(|| 2));
        assert!(poll(b.as_mut()).is_pending());
        {
            let cancelled = pin!(batch.turn(|| 1));
            assert!(poll(cancelled).is_pending());
        }
        let mut c = pin!(batch.turn(|| 3));
        assert!(poll(c.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(Turn::Leads(leader)) = poll(b.as_mut()) else {
            panic!("the first queued call gets the turn");
        };
        let (turn, taken) = leader.take(any);
        assert_eq!(taken.inputs, vec![2, 3], "the cancelled call is not taken");
        drop(taken);
        drop(turn);
    }

    #[test]
    fn a_leader_cancelled_before_it_takes_hands_the_turn_on() {
        let batch: Batch<u32, u32> = Batch::default();
        let first = alone(&batch, 0);
        let mut b = pin!(batch.turn(|| 1));
        let mut c = pin!(batch.turn(|| 2));
        assert!(poll(b.as_mut()).is_pending());
        assert!(poll(c.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(Turn::Leads(leader)) = poll(b.as_mut()) else {
            panic!("the first queued call gets the turn");
        };
        // Its request went away while it waited for a connection.
        drop(leader);
        let Poll::Ready(Turn::Leads(leader)) = poll(c.as_mut()) else {
            panic!("the next queued call gets the turn");
        };
        let (turn, taken) = leader.take(any);
        assert_eq!(
            taken.inputs,
            vec![2],
            "the cancelled leader's call is not run"
        );
        drop(turn);
    }

    #[test]
    fn calls_of_a_failed_statement_rerun_and_those_of_a_cancelled_one_are_abandoned() {
        let batch: Batch<u32, u32> = Batch::default();
        for failed in [true, false] {
            let first = alone(&batch, 0);
            let mut b = pin!(batch.turn(|| 1));
            let mut c = pin!(batch.turn(|| 2));
            assert!(poll(b.as_mut()).is_pending());
            assert!(poll(c.as_mut()).is_pending());
            drop(first);
            let Poll::Ready(Turn::Leads(leader)) = poll(b.as_mut()) else {
                panic!("the first queued call gets the turn");
            };
            let (turn, mut taken) = leader.take(any);
            if failed {
                taken.rerun();
                assert!(matches!(poll(c.as_mut()), Poll::Ready(Turn::Rerun)));
            } else {
                // The leader's request went away while its statement ran.
                drop(taken);
                assert!(matches!(poll(c.as_mut()), Poll::Ready(Turn::Abandoned)));
            }
            drop(turn);
        }
    }

    #[test]
    fn the_taker_runs_its_own_call_first_and_the_oldest_others_that_fit() {
        let batch: Batch<u32, u32> = Batch::default();
        let a = batch.join(1);
        let b = batch.join(2);
        let c = batch.join(1);
        let d = batch.join(3);
        // Distinct inputs only, as updates of rows.
        let taken = d.take(|taken, next| !taken.contains(next)).unwrap();
        assert_eq!(taken.inputs, vec![3, 1, 2]);
        // `c` (a second 1) stays queued for a statement of its own; `a` and `b` are taken.
        assert!(!a.is_queued() && !b.is_queued() && c.is_queued());
        assert_eq!(taken.answer([30, 10]), Some(30));
        let (mut a, mut b) = (a, b);
        assert!(matches!(a.answer.try_recv(), Ok(Ok(10))));
        assert!(
            matches!(b.answer.try_recv(), Ok(Err(Rerun))),
            "a call left without an answer runs its own"
        );
        let rest = c.take(any).unwrap();
        assert_eq!(rest.inputs, vec![1]);
    }

    #[test]
    fn a_statement_takes_at_most_max_batch_calls() {
        let batch: Batch<usize, usize> = Batch::default();
        let places: Vec<_> = (0..MAX_BATCH + 5).map(|n| batch.join(n)).collect();
        let taken = places[0].take(|_, _| true).unwrap();
        assert_eq!(taken.inputs.len(), MAX_BATCH);
        let rest = places[MAX_BATCH + 4].take(|_, _| true).unwrap();
        assert_eq!(rest.inputs.len(), 5);
    }
}
