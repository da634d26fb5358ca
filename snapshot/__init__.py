"""The offline snapshot: real Arabic news served from 127.0.0.1 as some 25 outlets would serve it."""
