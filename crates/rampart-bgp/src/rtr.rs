//! VRPs over RTR (RFC 8210) from a local validator (Routinator, rpki-client + StayRTR, …), with
//! the `rpki` crate's client: one full reset query, collected into [`Vrps`].

use std::time::Duration;

use ipnet::IpNet;
use rpki::rtr::client::{Client, PayloadError, PayloadTarget, PayloadUpdate};
use rpki::rtr::{Action, Payload, Timing};

use crate::rpki::Vrps;

/// How long fetching the full VRP set may take before it is given up.
pub const DEFAULT_RTR_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Collected {
    origins: Vec<(IpNet, u8, u32)>,
    received: bool,
}

struct Update {
    reset: bool,
    announced: Vec<(IpNet, u8, u32)>,
    withdrawn: Vec<(IpNet, u8, u32)>,
}

impl PayloadUpdate for Update {
    fn push_update(&mut self, action: Action, payload: Payload) -> Result<(), PayloadError> {
        if let Payload::Origin(o) = payload {
            let Ok(prefix) = IpNet::new(o.prefix.addr(), o.prefix.prefix_len()) else {
                return Ok(());
            };
            let entry = (
                prefix.trunc(),
                o.prefix.resolved_max_len(),
                o.asn.into_u32(),
            );
            match action {
                Action::Announce => self.announced.push(entry),
                Action::Withdraw => self.withdrawn.push(entry),
            }
        }
        Ok(())
    }
}

impl PayloadTarget for Collected {
    type Update = Update;

    fn start(&mut self, reset: bool) -> Update {
        Update {
            reset,
            announced: Vec::new(),
            withdrawn: Vec::new(),
        }
    }

    fn apply(&mut self, update: Update, _timing: Timing) -> Result<(), PayloadError> {
        if update.reset {
            self.origins.clear();
        }
        self.origins.retain(|o| !update.withdrawn.contains(o));
        self.origins.extend(update.announced);
        self.received = true;
        Ok(())
    }
}

/// Connects to `addr` (`host:port`) and returns the validator's current VRP set.
pub async fn fetch_vrps(addr: &str, timeout: Duration) -> std::io::Result<Vrps> {
    let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("RTR {addr}: {e}"));
    let work = async {
        let sock = tokio::net::TcpStream::connect(addr).await?;
        let mut client = Client::new(sock, Collected::default(), None);
        client.step().await?;
        Ok::<_, std::io::Error>(client.into_target())
    };
    let collected = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no full VRP set in time"))
        .and_then(|r| r)
        .map_err(named)?;
    let mut vrps = Vrps::default();
    for (prefix, max, asn) in collected.origins {
        vrps.insert(prefix, max, asn);
    }
    Ok(vrps)
}
