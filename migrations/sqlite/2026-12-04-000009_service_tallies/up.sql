-- Leaderboards: each volunteer's credited service summed per period of the
-- scheme's time zone ('all', a year '2026', a month '2026-12'), kept in the
-- same commit as the records it counts, so ranking a city of volunteers
-- reads one row per volunteer instead of every record they made. The
-- service fills it from service_records on start when it is new or when the
-- time zone changed.
CREATE TABLE service_tallies (
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    period       TEXT NOT NULL,
    minutes      BIGINT NOT NULL CHECK (minutes >= 0),
    points       BIGINT NOT NULL CHECK (points >= 0),
    PRIMARY KEY (volunteer_id, period)
);
-- A ranking walks one period in order of its measure; ties by volunteer.
CREATE INDEX service_tallies_by_minutes ON service_tallies (period, minutes DESC, volunteer_id);
CREATE INDEX service_tallies_by_points ON service_tallies (period, points DESC, volunteer_id);
