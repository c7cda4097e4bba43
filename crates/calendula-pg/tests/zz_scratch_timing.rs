use std::time::Instant;
struct L(Instant);
impl log::Log for L {
    fn enabled(&self, _: &log::Metadata) -> bool { true }
    fn log(&self, r: &log::Record) { eprintln!("{:7.3} {}", self.0.elapsed().as_secs_f64(), r.args()); }
    fn flush(&self) {}
}
#[test]
fn scratch() {
    log::set_boxed_logger(Box::new(L(Instant::now()))).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    for r in [0, 2, 2] { let c = calendula_pg::Cluster::temporary(r).unwrap(); drop(c); }
}
