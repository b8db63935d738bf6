//! How the whole pair moves: the endpoints drain onto the network, the clock goes to the next
//! arrival or deadline, and what arrived is delivered (a request to the server's port starts a
//! server session, as a server starts one).

use std::net::SocketAddr;

use tftp_proto::server::{accept, Direction, Intake};
use tftp_proto::{Instant, Session};

use crate::network::Flight;
use crate::pair::{server_tid, CLIENT};
use crate::routes::{Wire, LISTEN, NOWHERE, OUTSIDER};
use crate::{Endpoint, Observer, Pair};

impl Pair<'_> {
    /// Every endpoint that had an input since its last drain drains now, the client first,
    /// onto the network.
    #[inline]
    pub fn send(&mut self) {
        self.send_with(&mut ());
    }

    /// [`Pair::send`], with `observer` watching every drain.
    #[inline]
    pub fn send_with(&mut self, observer: &mut impl Observer) {
        let now = self.now;
        let toward_client = (self.first_server == 1).then_some(0);
        for (i, endpoint) in self.endpoints.iter_mut().enumerate() {
            if !endpoint.needs_drain() {
                continue;
            }
            let mut wire = Wire {
                net: &mut self.net,
                now,
                from: i as u32,
                routes: &mut self.routes,
                toward_client,
                outside: &mut self.outside,
            };
            endpoint.drain(now, &mut wire, observer);
        }
    }

    /// Moves the clock to the next arrival or deadline, delivers every datagram that arrived
    /// by then (in order of arrival, then of sending) and handles every deadline due (the
    /// client's first). While a datagram that arrived by now is still in flight (on a network
    /// without delay, or one injected now), the clock stays and only those are delivered: at
    /// one instant, datagrams (and their answers) go before deadlines. Returns false, doing
    /// nothing, when the pair is settled, when nothing is scheduled, or when the next event is
    /// past the time limit.
    #[inline]
    pub fn advance_to_next(&mut self) -> bool {
        if self.is_settled() {
            return false;
        }
        // In microseconds, u64::MAX for never.
        let limit = self.time_limit.map_or(u64::MAX, Instant::as_micros);
        let arrival = self.net.next_arrival().map_or(u64::MAX, Instant::as_micros);
        if arrival <= self.now.as_micros() && arrival <= limit {
            // Something arrived by now (on a network without delay, or injected now): at one
            // instant every datagram is delivered, and answered, before a deadline of that
            // instant is looked at.
            self.deliver_arrived();
            return true;
        }
        let mut next = arrival;
        for e in &mut self.endpoints {
            next = next.min(e.deadline_micros());
        }
        if next == u64::MAX || next > limit {
            return false;
        }
        self.now = self.now.max(Instant::from_micros(next));
        self.deliver_arrived();
        let now = self.now;
        for e in &mut self.endpoints {
            if e.deadline_micros() <= now.as_micros() {
                e.timeout(now);
            }
        }
        true
    }

    /// One step: [`Pair::send`], then [`Pair::advance_to_next`] (whose answer it returns).
    #[inline]
    pub fn step(&mut self) -> bool {
        self.send();
        self.advance_to_next()
    }

    /// Steps until [`Pair::step`] returns false.
    pub fn run(&mut self) {
        while self.step() {}
    }

    /// Delivers every datagram that arrived by now, in order.
    #[inline(always)]
    fn deliver_arrived(&mut self) {
        while let Some(flight) = self.net.arrived(self.now) {
            self.deliver(&flight);
            self.net.recycle(flight);
        }
    }

    /// Hands an arrived datagram to its endpoint (nobody there: it is gone).
    #[inline(always)]
    fn deliver(&mut self, f: &Flight) {
        let from = self.routes.address(f.from);
        let datagram = self.net.datagram(f);
        match f.to {
            LISTEN => self.request(from, f),
            NOWHERE => {}
            to => {
                let endpoint = &mut self.endpoints[to as usize];
                // An ACK from the other side ends a sender's burst.
                if f.from & OUTSIDER == 0 && matches!(datagram, [0, 4, _, _]) {
                    endpoint.trigger();
                }
                endpoint.deliver(self.now, from, datagram);
            }
        }
    }

    /// A datagram to [`SERVER`]: a repeated request goes to the session that waits for its
    /// peer; a new request from the client starts a session, as a server does.
    fn request(&mut self, from: SocketAddr, f: &Flight) {
        let now = self.now;
        let datagram = self.net.datagram(f);
        if let Some(waiting) = self.endpoints[self.first_server..]
            .iter_mut()
            .find(|s| s.session().peer() == from && s.session().is_awaiting_peer())
        {
            waiting.deliver(now, from, datagram);
            return;
        }
        let Some(listener) = &mut self.listener else {
            return;
        };
        let Intake::Serve(incoming) = accept(datagram) else {
            return;
        };
        if from != CLIENT {
            return;
        }
        let (policy, config) = (&listener.policy, &listener.config);
        let made = match incoming.direction {
            Direction::Read => Session::server_read(
                now,
                from,
                incoming.mode,
                &incoming.options,
                listener.announce,
                policy,
                config,
            ),
            Direction::Write => {
                Session::server_write(now, from, incoming.mode, &incoming.options, policy, config)
            }
        };
        let Ok(session) = made else {
            self.refused += 1;
            return;
        };
        let tid = server_tid(self.endpoints.len() - self.first_server);
        let file = match listener.first_file.take() {
            Some(file) => file,
            None => listener.template.fresh(),
        };
        self.endpoints.push(Endpoint::new(session, tid, file));
        self.routes.add(tid);
    }
}
