//! VRPs over RTR from a real RTR server (the `rpki` crate's server side) on loopback, then used
//! for RFC 6811 validation.

use std::sync::Arc;

use rpki::resources::{Asn, MaxLenPrefix, Prefix};
use rpki::rtr::payload::RouteOrigin;
use rpki::rtr::server::{NotifySender, PayloadDiff, PayloadSet, PayloadSource, Server};
use rpki::rtr::{Action, PayloadRef, State, Timing};

#[derive(Clone)]
struct Source {
    origins: Arc<Vec<RouteOrigin>>,
    state: State,
}

struct Set(Arc<Vec<RouteOrigin>>, usize);

impl PayloadSet for Set {
    fn next(&mut self) -> Option<PayloadRef<'_>> {
        let item = self.0.get(self.1).copied();
        self.1 += 1;
        item.map(PayloadRef::Origin)
    }
}

struct NoDiff;

impl PayloadDiff for NoDiff {
    fn next(&mut self) -> Option<(PayloadRef<'_>, Action)> {
        None
    }
}

impl PayloadSource for Source {
    type Set = Set;
    type Diff = NoDiff;

    fn ready(&self) -> bool {
        true
    }
    fn notify(&self) -> State {
        self.state
    }
    fn full(&self) -> (State, Set) {
        (self.state, Set(self.origins.clone(), 0))
    }
    fn diff(&self, _state: State) -> Option<(State, NoDiff)> {
        None
    }
    fn timing(&self) -> Timing {
        Timing::default()
    }
}

fn origin(prefix: &str, len: u8, max: u8, asn: u32) -> RouteOrigin {
    let p = Prefix::new(prefix.parse().unwrap(), len).unwrap();
    RouteOrigin::new(MaxLenPrefix::new(p, Some(max)).unwrap(), Asn::from_u32(asn))
}

#[tokio::test]
async fn vrps_arrive_over_rtr_and_validate_routes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let source = Source {
        origins: Arc::new(vec![
            origin("104.20.0.0", 20, 20, 13335),
            origin("208.65.152.0", 22, 24, 36561),
            origin("2001:db8::", 32, 48, 64496),
        ]),
        state: State::new(),
    };
    let server = Server::new(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        NotifySender::new(),
        source,
    );
    tokio::spawn(server.run());

    let vrps = rampart_bgp::fetch_vrps(&addr.to_string(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(vrps.len(), 3);
    let v = |p: &str, o: u32| vrps.validate(&p.parse().unwrap(), Some(o));
    use rampart_bgp::RpkiState::*;
    assert_eq!(v("104.20.0.0/20", 13335), Valid);
    assert_eq!(
        v("104.20.0.0/21", 13335),
        Invalid,
        "more specific than maxLength"
    );
    assert_eq!(
        v("208.65.153.0/24", 17557),
        Invalid,
        "the 2008 hijack, had there been a ROA"
    );
    assert_eq!(v("208.65.153.0/24", 36561), Valid);
    assert_eq!(v("2001:db8:1::/48", 64496), Valid);
    assert_eq!(v("192.0.2.0/24", 1), NotFound);

    let refused = rampart_bgp::fetch_vrps("127.0.0.1:1", std::time::Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("RTR 127.0.0.1:1"), "{refused}");
}
