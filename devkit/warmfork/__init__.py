"""The warm parent and its forked children: stdlib only, no other devkit imports, so the
parent process imports nothing but the app's own libraries before it forks."""
