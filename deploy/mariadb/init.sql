-- Databases of the compose stack (deploy/docker-compose.yml): the
-- configuration database and two shard databases, and the application's user.
-- The password is the compose file's MARIADB_PASSWORD default; change both.
CREATE DATABASE IF NOT EXISTS big_market    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS big_market_01 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE DATABASE IF NOT EXISTS big_market_02 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
GRANT ALL PRIVILEGES ON big_market.*    TO 'bigmarket'@'%';
GRANT ALL PRIVILEGES ON big_market_01.* TO 'bigmarket'@'%';
GRANT ALL PRIVILEGES ON big_market_02.* TO 'bigmarket'@'%';
