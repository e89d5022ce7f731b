//! Test helpers over testdata/vdpa (compiled for unit tests only).

use nfv_netlink::{parse_vdpa_dev, VdpaDev};

use crate::discover::DeviceList;

/// The messages of a testdata/vdpa file (one per line, hex).
pub fn messages(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/../../testdata/vdpa/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// The devices of a dump file, decoded by nfv-netlink's parser.
pub fn devices(name: &str) -> Recorded {
    Recorded(
        messages(name)
            .iter()
            .map(|m| parse_vdpa_dev(m).unwrap())
            .collect(),
    )
}

/// The devices of testdata/vdpa/nic-dev-dump.hex (the fake sysfs tree's devices).
pub fn recorded_devices() -> Recorded {
    devices("nic-dev-dump.hex")
}

/// A [`DeviceList`] answering with fixed devices.
#[derive(Debug)]
pub struct Recorded(pub Vec<VdpaDev>);

impl DeviceList for Recorded {
    fn devices(&mut self) -> Result<Vec<VdpaDev>, nfv_cni::Error> {
        Ok(self.0.clone())
    }
}
