//! A real authoritative DNS server for the tests: Debian's Knot (`knotd`, installed by
//! `scripts/setup.sh`), started on a free local port with a TSIG key that may update its zones,
//! and stopped when dropped.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use secrecy::SecretString;
use slipway_engine::platform::rfc2136::{Rfc2136Client, Rfc2136Config, TsigAlgorithmName};

pub struct Knot {
    pub address: SocketAddr,
    pub key_name: String,
    secret: String,
    /// Holds the configuration, zone files and journal until the server stops.
    _dir: tempfile::TempDir,
    process: Child,
}

/// A port free for both UDP and TCP right now.
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A zone file with the SOA and NS every zone needs, then `records` (zone-file lines).
pub fn zone_file(zone: &str, records: &str) -> String {
    format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ SOA ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60\n@ NS ns1.{zone}.\nns1 A 127.0.0.1\n{records}\n"
    )
}

impl Knot {
    /// Starts knotd serving `zones` (apex, zone-file text), each updatable with the key.
    pub fn start(zones: &[(&str, String)]) -> Knot {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let secret = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
        let key_name = "slipway-test".to_string();
        let mut config = format!(
            "server:\n  rundir: \"{d}\"\n  listen: 127.0.0.1@{port}\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
             database:\n  storage: \"{d}\"\n\
             log:\n  - target: stderr\n    any: warning\n\
             key:\n  - id: {key_name}\n    algorithm: hmac-sha256\n    secret: {secret}\n\
             acl:\n  - id: updates\n    key: {key_name}\n    action: update\n\
             template:\n  - id: default\n    storage: \"{d}\"\n    file: \"%s.zone\"\n    zonefile-sync: -1\n    acl: updates\n\
             zone:\n",
            d = dir.path().display()
        );
        for (zone, text) in zones {
            std::fs::write(dir.path().join(format!("{zone}.zone")), text).unwrap();
            config.push_str(&format!("  - domain: {zone}\n"));
        }
        let config_path = dir.path().join("knot.conf");
        std::fs::write(&config_path, config).unwrap();
        let process = Command::new("knotd")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("knotd runs (scripts/setup.sh installs Debian's knot)");
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        let knot = Knot { address, key_name, secret, _dir: dir, process };
        knot.wait_until_serving(zones.iter().map(|(zone, _)| *zone));
        knot
    }

    /// Waits until every zone answers its SOA (knotd loads zones after it starts listening).
    fn wait_until_serving<'a>(&self, zones: impl Iterator<Item = &'a str>) {
        let deadline = Instant::now() + Duration::from_secs(20);
        for zone in zones {
            while !self.answers_soa(zone) {
                assert!(Instant::now() < deadline, "knotd did not serve {zone} within 20 s");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn answers_soa(&self, zone: &str) -> bool {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut query = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in zone.split('.') {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 6, 0, 1]);
        if socket.send_to(&query, self.address).is_err() {
            return false;
        }
        let mut answer = [0u8; 512];
        // NOERROR with one answer: the zone is loaded.
        matches!(socket.recv(&mut answer), Ok(n) if n > 12 && answer[3] & 0x0f == 0 && answer[7] >= 1)
    }

    /// The key's secret, as the server has it.
    pub fn secret(&self) -> SecretString {
        SecretString::from(self.secret.clone())
    }

    /// What an engine needs to write to this server.
    pub fn access(&self) -> slipway_engine::platforms::Rfc2136Access {
        slipway_engine::platforms::Rfc2136Access {
            server: self.address,
            key_name: self.key_name.clone(),
            algorithm: TsigAlgorithmName::HmacSha256,
            secret: self.secret(),
        }
    }

    pub fn client(&self, zone: &str) -> Rfc2136Client {
        self.client_with(zone, self.secret())
    }

    pub fn client_with(&self, zone: &str, secret: SecretString) -> Rfc2136Client {
        Rfc2136Client::new(Rfc2136Config {
            server: self.address,
            zone: zone.into(),
            key_name: self.key_name.clone(),
            algorithm: TsigAlgorithmName::HmacSha256,
            secret,
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
