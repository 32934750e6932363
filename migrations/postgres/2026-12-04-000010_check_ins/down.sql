DROP TABLE attendances;
DROP TABLE check_ins;
