//! STATUS: whether ADD could work now.

use nfv_cni::{code, Error, Request};

use crate::config::UserspaceConf;
use crate::places::Places;
use crate::vswitch;

/// STATUS: ovsdb-server answers and holds the Open_vSwitch database; then IPAM STATUS.
pub fn status(req: &Request, places: &Places) -> Result<(), Error> {
    let conf: UserspaceConf = req.parse_conf()?;
    let (socket, timeout) = conf.endpoint(places)?;
    let unavailable = |why: String| {
        Error::new(
            code::NOT_AVAILABLE,
            format!("Open vSwitch is not available: {why}"),
        )
    };
    let mut vs = vswitch::Vswitch::connect(&socket, timeout).map_err(|e| unavailable(e.msg))?;
    match vs.has_database() {
        Ok(true) => {}
        Ok(false) => {
            return Err(unavailable(format!(
                "ovsdb-server at {} has no Open_vSwitch database",
                socket.display()
            )))
        }
        Err(e) => return Err(unavailable(e.to_string())),
    }
    nfv_cni::ipam::status(req)
}
