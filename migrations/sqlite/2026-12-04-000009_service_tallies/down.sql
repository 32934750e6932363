DROP TABLE service_tallies;
