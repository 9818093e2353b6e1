//! Calls of one kind run together while one of their kind is in flight: [`Batch`].
//!
//! At most one statement of each kind is in flight at a time (group commit). A call that finds
//! none in flight yields once to the tasks that are ready, so that the calls they make at the
//! same moment queue behind it, then runs its own statement with them. One that
//! finds a statement of its kind in flight joins the queue of its kind and waits both for its
//! kind's turn and for an answer. Whichever queued call gets the turn first runs the queued
//! calls (its own first) as one statement and answers the others, which then return without
//! running anything. Under load one statement and one round trip serve many requests; without
//! load, a call waits for nothing but its one yield.
//!
//! A queued call that is cancelled (its request timed out or went away) leaves the queue at
//! once, so it is never run later, after a newer write of the same session. A call whose
//! statement was taken by another but got no answer (that call failed or was cancelled) runs
//! alone: the calls batched are a read and an unconditional update, both of which may be sent
//! twice.

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

struct Waiting<I, O> {
    ticket: u64,
    input: I,
    answer: oneshot::Sender<O>,
}

/// A place in the queue. Dropped before it is taken, it leaves the queue.
struct Place<'a, I, O> {
    batch: &'a Batch<I, O>,
    ticket: u64,
    /// Where the call's answer arrives if another call runs it.
    answer: oneshot::Receiver<O>,
}

/// Calls taken from the queue to run as one statement, and where each answer goes.
pub(crate) struct Taken<I, O> {
    pub(crate) inputs: Vec<I>,
    answers: Vec<oneshot::Sender<O>>,
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
    /// No statement of this kind is in flight: run this call's own, holding the turn.
    Alone(SemaphorePermit<'a>),
    /// Another call ran this one: its answer.
    Answered(O),
    /// Run the calls taken, holding the turn, and answer them.
    Leads(SemaphorePermit<'a>, Taken<I, O>),
    /// The call that took this one gave no answer (it failed or was cancelled): run this
    /// call's own statement again, without the turn.
    Orphaned,
}

impl<I, O> Batch<I, O> {
    /// Waits for this call's turn, queued with `input` while a statement of its kind is in
    /// flight. Cancel-safe: dropped while queued, the call leaves the queue.
    pub(crate) async fn turn(
        &self,
        input: impl FnOnce() -> I,
        fits: impl Fn(&[I], &I) -> bool,
    ) -> Turn<'_, I, O> {
        if let Ok(turn) = self.turn.try_acquire() {
            // Nothing of this kind is in flight. Let the tasks that are ready now run first:
            // the calls they make meanwhile queue behind this one and go in its statement.
            tokio::task::yield_now().await;
            if self.lock().waiting.is_empty() {
                return Turn::Alone(turn);
            }
            let place = self.join(input());
            return match place.take(fits) {
                Some(taken) => Turn::Leads(turn, taken),
                None => Turn::Alone(turn),
            };
        }
        let mut place = self.join(input());
        tokio::select! {
            biased;
            answer = &mut place.answer => match answer {
                Ok(answer) => Turn::Answered(answer),
                Err(_) => Turn::Orphaned,
            },
            turn = self.turn.acquire() => {
                let Ok(turn) = turn else { return Turn::Orphaned };
                if let Some(taken) = place.take(fits) {
                    return Turn::Leads(turn, taken);
                }
                drop(turn);
                match (&mut place.answer).await {
                    Ok(answer) => Turn::Answered(answer),
                    Err(_) => Turn::Orphaned,
                }
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

impl<I, O> Place<'_, I, O> {
    /// For the call that got a connection: its own input and up to [`MAX_BATCH`] - 1 other
    /// waiting calls, oldest first, each of which `fits` with those taken before it (an update
    /// takes one call per row: two updates of one row in one statement would write one of
    /// them). `None` if another call has taken this one already: its answer will arrive.
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
    /// inputs) run alone.
    pub(crate) fn answer(self, answers: impl IntoIterator<Item = O>) -> Option<O> {
        let mut answers = answers.into_iter();
        let own = answers.next();
        for (sender, answer) in self.answers.into_iter().skip(1).zip(answers) {
            // A caller that has gone away needs no answer.
            let _ = sender.send(answer);
        }
        own
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

    #[test]
    fn calls_behind_a_statement_in_flight_are_run_together_by_the_first_to_get_the_turn() {
        let batch: Batch<u32, u32> = Batch::default();
        let first = alone(&batch, 0);
        let mut b = pin!(batch.turn(|| 1, any));
        let mut c = pin!(batch.turn(|| 2, any));
        assert!(poll(b.as_mut()).is_pending());
        assert!(poll(c.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(Turn::Leads(turn, taken)) = poll(b.as_mut()) else {
            panic!("the first queued call gets the turn");
        };
        assert_eq!(taken.inputs, vec![1, 2]);
        assert!(poll(c.as_mut()).is_pending(), "c waits for its answer");
        assert_eq!(taken.answer([10, 20]), Some(10));
        assert!(matches!(poll(c.as_mut()), Poll::Ready(Turn::Answered(20))));
        drop(turn);
        drop(alone(&batch, 3));
    }

    /// A call with nothing of its kind in flight: it yields once, then runs alone.
    fn alone(batch: &Batch<u32, u32>, input: u32) -> SemaphorePermit<'_> {
        let mut call = Box::pin(batch.turn(move || input, any));
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
    fn calls_made_while_the_first_call_yields_go_in_its_statement() {
        let batch: Batch<u32, u32> = Batch::default();
        let mut first = pin!(batch.turn(|| 0, any));
        assert!(poll(first.as_mut()).is_pending());
        let mut b = pin!(batch.turn(|| 1, any));
        assert!(poll(b.as_mut()).is_pending());
        let Poll::Ready(Turn::Leads(turn, taken)) = poll(first.as_mut()) else {
            panic!("the first call runs the calls queued meanwhile");
        };
        assert_eq!(taken.inputs, vec![0, 1]);
        assert_eq!(taken.answer([0, 10]), Some(0));
        assert!(matches!(poll(b.as_mut()), Poll::Ready(Turn::Answered(10))));
        drop(turn);
    }

    #[test]
    fn a_queued_call_that_is_cancelled_is_never_run_and_one_left_unanswered_runs_alone() {
        let batch: Batch<u32, u32> = Batch::default();
        let first = alone(&batch, 0);
        {
            let cancelled = pin!(batch.turn(|| 1, any));
            assert!(poll(cancelled).is_pending());
        }
        let mut b = pin!(batch.turn(|| 2, any));
        let mut c = pin!(batch.turn(|| 3, any));
        assert!(poll(b.as_mut()).is_pending());
        assert!(poll(c.as_mut()).is_pending());
        drop(first);
        let Poll::Ready(Turn::Leads(turn, taken)) = poll(b.as_mut()) else {
            panic!("the first queued call gets the turn");
        };
        assert_eq!(taken.inputs, vec![2, 3], "the cancelled call is not taken");
        // The statement failed: no answers.
        drop(taken);
        assert!(matches!(poll(c.as_mut()), Poll::Ready(Turn::Orphaned)));
        drop(turn);
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
        assert!(a.take(|_, _| true).is_none());
        assert!(b.take(|_, _| true).is_none());
        assert_eq!(taken.answer([30, 10, 20]), Some(30));
        let (mut a, mut b) = (a, b);
        assert_eq!(a.answer.try_recv().ok(), Some(10));
        assert_eq!(b.answer.try_recv().ok(), Some(20));
        let rest = c.take(|_, _| true).unwrap();
        assert_eq!(rest.inputs, vec![1]);
    }

    #[test]
    fn a_call_dropped_while_queued_is_never_taken() {
        let batch: Batch<u32, u32> = Batch::default();
        let gone = batch.join(1);
        let stays = batch.join(2);
        drop(gone);
        let taken = stays.take(|_, _| true).unwrap();
        assert_eq!(taken.inputs, vec![2]);
    }

    #[test]
    fn calls_left_without_an_answer_see_their_sender_dropped() {
        let batch: Batch<u32, u32> = Batch::default();
        let taker = batch.join(1);
        let mut other = batch.join(2);
        let taken = taker.take(|_, _| true).unwrap();
        // The statement failed: no answers.
        assert_eq!(taken.answer([]), None);
        assert!(other.answer.try_recv().is_err());
        // It has left the queue: it runs alone.
        assert!(other.take(|_, _| true).is_none());
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
