//! Test helpers over testdata/vdpa (compiled for unit tests only).

use nfv_netlink::{parse_vdpa_dev, VdpaDev};

use crate::discover::DeviceList;

/// The devices of testdata/vdpa/dev-get-dump.hex, decoded by nfv-netlink's parser.
pub fn recorded_devices() -> Recorded {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/vdpa/dev-get-dump.hex"
    );
    let text = std::fs::read_to_string(path).unwrap();
    Recorded(
        text.lines()
            .map(|l| {
                let bytes: Vec<u8> = (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect();
                parse_vdpa_dev(&bytes).unwrap()
            })
            .collect(),
    )
}

/// A [`DeviceList`] answering with fixed devices.
#[derive(Debug)]
pub struct Recorded(pub Vec<VdpaDev>);

impl DeviceList for Recorded {
    fn devices(&mut self) -> Result<Vec<VdpaDev>, nfv_cni::Error> {
        Ok(self.0.clone())
    }
}
