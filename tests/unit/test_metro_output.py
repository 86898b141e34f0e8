"""Metro's bundling errors, read from Expo CLI's real output (captured from Expo SDK 57 with a
syntax error, then a missing import; colour codes as Expo prints them without a terminal)."""

from __future__ import annotations

from devkit.services.metro_output import BundleErrors, strip_ansi

CLIENT = "/tmp/metro-try/client"
SYNTAX_ERROR = [
    "\x1b[33m\x1b[7m\x1b[1m WARN \x1b[22m\x1b[27m\x1b[39m Failed to download the latest version "
    "of React Native DevTools. Using a fallback version instead.",
    "iOS Bundled 21864ms index.js (736 modules)",
    "iOS Bundling failed 10ms index.js (1 module)",
    "\x1b[31m\x1b[7m\x1b[1m ERROR \x1b[22m\x1b[27m\x1b[39m SyntaxError: "
    '/tmp/metro-try/client/App.js: Unexpected token, expected "," (7:27)',
    "",
    "   5 |   return (",
    "   6 |     <View style={styles.container}>",
    ">  7 |       <Text>Open up {{  App.js to start working on your app!</Text>",
    "     |                            ^",
    '   8 |       <StatusBar style="auto" />',
    "    at FlowParserMixin.parseMaybeUnaryOrPrivate (/x/node_modules/@babel/parser/lib/index.js:7890:61)",
    "    at FlowParserMixin.parseExprOps (/x/node_modules/@babel/parser/lib/index.js:7895:23)",
]
FIXED = ["iOS Bundled 64ms index.js (1 module)"]
MISSING_IMPORT = [
    "Android Bundling failed 11173ms index.js (732 modules)",
    'Unable to resolve "./nope" from "App.js"',
    "\x1b[0m \x1b[90m 19 |\x1b[39m   }\x1b[33m,\x1b[39m",
    "\x1b[31m\x1b[1m>\x1b[22m\x1b[39m\x1b[90m 21 |\x1b[39m \x1b[36mimport\x1b[39m Missing",
    "",
    "Import stack:",
    "",
    " App.js",
    ' | import "./nope"',
]


def feed(errors: BundleErrors, lines: list[str]) -> list[bool]:
    return [errors.feed(line) for line in lines]


def test_a_syntax_error_is_a_problem_with_its_code_frame_until_the_next_good_bundle():
    errors = BundleErrors(CLIENT)
    changes = feed(errors, SYNTAX_ERROR)
    assert changes[:2] == [False, False]  # a warning and a good bundle are no problem
    problem = errors.problem
    assert problem is not None
    assert (
        problem.summary
        == 'iOS bundle failed: SyntaxError: App.js: Unexpected token, expected "," (7:27)'
    )
    assert problem.lines[0] == 'SyntaxError: App.js: Unexpected token, expected "," (7:27)'
    assert any(line.startswith(">  7 |       <Text>Open up {{") for line in problem.lines)
    assert not any("FlowParserMixin" in line or "\x1b" in line for line in problem.lines)
    assert feed(errors, FIXED) == [True]
    assert errors.problem is None


def test_errors_are_per_platform_and_the_newest_is_shown():
    errors = BundleErrors(CLIENT)
    feed(errors, SYNTAX_ERROR + MISSING_IMPORT)
    problem = errors.problem
    assert problem is not None
    assert problem.summary.startswith('Android bundle failed: Unable to resolve "./nope"')
    assert "also failing: iOS" in problem.summary
    assert "Import stack:" not in problem.lines and ' | import "./nope"' not in problem.lines
    feed(errors, FIXED)  # iOS builds again; Android still does not
    problem = errors.problem
    assert problem is not None and problem.summary.startswith("Android bundle failed")
    assert "also failing" not in problem.summary
    assert errors.feed("Android Bundled 120ms index.js (732 modules)")
    assert errors.problem is None


def test_a_new_run_starts_clean_and_plain_log_lines_change_nothing():
    errors = BundleErrors(CLIENT)
    feed(errors, SYNTAX_ERROR)
    errors.reset()
    assert errors.problem is None
    assert feed(errors, ["Starting Metro Bundler", " LOG  hello from the app", ""]) == [False] * 3


def test_strip_ansi_removes_colour_and_cursor_codes_only():
    assert strip_ansi("\x1b[31m\x1b[1m>\x1b[22m\x1b[39m 21 |") == "> 21 |"
    assert strip_ansi("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[2K") == "link "
    assert strip_ansi("plain [31m text") == "plain [31m text"
