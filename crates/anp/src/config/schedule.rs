//! `[[schedule]]` sections: checked into [`alphanode::scheduler::Schedule`]s.

use alphanode::{Error, Kind, QueueName};

use super::raw::{Ctx, RawSchedule};

impl Ctx<'_> {
    pub(super) fn schedule(
        &self,
        r: &RawSchedule,
    ) -> Result<alphanode::scheduler::Schedule, Error> {
        use alphanode::{CatchUp, ScheduleDef, ScheduleName};
        let name = match ScheduleName::parse(r.name.get_ref()) {
            Ok(n) => n,
            Err(e) => return self.err(r.name.span(), "schedule.name", e.message()),
        };
        let key = |k: &str| format!("schedule {name}: {k}");
        if let Err(e) = anp_cron::CronExpr::parse(r.cron.get_ref()) {
            return self.err(r.cron.span(), &key("cron"), e.message());
        }
        let tz = match &r.tz {
            None => "UTC".to_owned(),
            Some(t) => match anp_cron::Tz::parse(t.get_ref()) {
                Ok(_) => t.get_ref().clone(),
                Err(e) => return self.err(t.span(), &key("tz"), e.message()),
            },
        };
        let kind = match Kind::parse(r.kind.get_ref()) {
            Ok(k) => k,
            Err(e) => return self.err(r.kind.span(), &key("kind"), e.message()),
        };
        let queue = match &r.queue {
            None => QueueName::default_queue(),
            Some(q) => match QueueName::parse(q.get_ref()) {
                Ok(q) => q,
                Err(e) => return self.err(q.span(), &key("queue"), e.message()),
            },
        };
        let args = match &r.args {
            None => alphanode::Args::empty_object(),
            Some(v) => match alphanode::Args::from_serialize(v) {
                Ok(a) => a,
                Err(e) => return self.err(r.name.span(), &key("args"), e.message()),
            },
        };
        let catch_up = match &r.catch_up {
            None => CatchUp::Latest,
            Some(c) => match c.get_ref().as_str() {
                "skip" => CatchUp::Skip,
                "latest" => CatchUp::Latest,
                "all" => CatchUp::All,
                other => {
                    return self.err(
                        c.span(),
                        &key("catch_up"),
                        format!("{other:?} is not a catch-up policy: expected \"skip\", \"latest\" or \"all\""),
                    )
                }
            },
        };
        let def = ScheduleDef {
            name,
            cron: r.cron.get_ref().trim().to_owned(),
            tz,
            kind,
            args,
            queue,
            priority: self.int(&r.priority, "schedule.priority", 0..=9, 5)? as u8,
            max_attempts: self.int(&r.max_attempts, "schedule.max_attempts", 1..=1000, 25)? as u32,
            owner: r.owner.clone(),
            expected: r.expected.clone(),
            rollback: r.rollback.clone(),
            catch_up,
            catch_up_max: self.int(&r.catch_up_max, "schedule.catch_up_max", 1..=10_000, 100)?
                as u32,
            skip_if_running: r.skip_if_running,
        };
        alphanode::scheduler::Schedule::new(def)
            .or_else(|e| self.err(r.cron.span(), "schedule", e.message()))
    }
}
