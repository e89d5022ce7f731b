//! The CNI spec as a library (being written).
