SELECT name, sha256 FROM _migrations;
