#!/usr/bin/env python3
"""Writes tests/fixtures/invalid/<CODE>-<name>.toml: the valid base course with one mistake.

Each fixture's first line is `# expect: CODE LINE:COL`, the finding the test requires; the
position is that of `at` (a substring) in the final file. Re-run after editing base.toml.
"""
import pathlib

here = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
base = (here / "base.toml").read_text()

# (file name, code, replace-from, replace-to, at) -- `at` locates the expected position.
CASES = [
    ("CS001-toml-syntax", "CS001", 'title = "基础课程"', 'title = = "基础课程"', '= "基础课程"'),
    ("CS002-unknown-key", "CS002", 'title = "基础课程"', 'titel = "基础课程"', "titel"),
    ("CS003-wrong-type", "CS003", "course_num = 3", 'course_num = "3"', '"3"'),
    ("CS004-missing-field", "CS004", 'purchase_precaution = "购买后可反复学习"\n', "", ""),
    ("CS101-course-id-length", "CS101", 'course_id = "base-course"', 'course_id = "' + "x" * 129 + '"', '"xxx'),
    ("CS103-empty-text", "CS103", 'title = "基础课程"', 'title = "  "', '"  "'),
    ("CS201-price-integer", "CS201", "real_price = 4900", "real_price = 49.5", "49.5"),
    ("CS202-price-form", "CS202", "real_price = 4900", "real_price = 4900\nrange_min_price = 100\nrange_max_price = 9000", "4900"),
    ("CS203-price-bounds", "CS203", "real_price = 4900", "real_price = 5100", "5100"),
    ("CS204-price-range-bounds", "CS204", "real_price = 4900", "range_min_price = 100\nrange_max_price = 4000", "4000"),
    ("CS301-path-leading-slash", "CS301", 'path = "pages/course/detail"', 'path = "/pages/course/detail"', '"/pages'),
    ("CS302-path-length", "CS302", 'path = "pages/course/detail"', 'path = "' + "p" * 256 + '"', '"ppp'),
    ("CS303-query-key-length", "CS303", 'query = { channel = "catalog" }', 'query = { ' + "k" * 65 + ' = "v" }', "kkk"),
    ("CS304-query-value-length", "CS304", 'query = { channel = "catalog" }', 'query = { channel = "' + "v" * 129 + '" }', '"vvv'),
    ("CS305-query-course-id", "CS305", 'query = { channel = "catalog" }', 'query = { course_id = "x" }', "course_id = \"x\""),
    ("CS402-lesson-type", "CS402", 'type = "video"', 'type = "vidoe"', '"vidoe"'),
    ("CS403-lesson-content", "CS403", 'type = "text"\ntext = "讲义内容"', 'type = "text"\nfile = "assets/intro.mp4"', '"assets/intro.mp4"\n\n[[lessons]]\nname = "幻灯片"'),
    ("CS404-file-extension", "CS404", 'file = "assets/intro.mp4"', 'file = "assets/talk.mp3"', '"assets/talk.mp3"'),
    ("CS405-text-length", "CS405", 'text = "课程介绍"', 'text = "' + "字" * 10001 + '"', '"字字'),
    ("CS406-rich-text-length", "CS406", 'rich_text = "<b>富文本</b>"', 'rich_text = "' + "字" * 100001 + '"', '"字字'),
    ("CS451-detail-block", "CS451", 'rich_text = "<b>富文本</b>"', 'rich_text = "<b>富文本</b>"\ntext = "也有文字"', '"<b>富文本</b>"'),
    ("CS501-file-missing", "CS501", 'cover = "assets/cover.jpg"', 'cover = "assets/no-such-cover.jpg"', '"assets/no-such'),
    ("CS502-file-outside-catalog", "CS502", 'cover = "assets/cover.jpg"', 'cover = "../assets/cover.jpg"', '"../assets'),
    ("CS503-file-url", "CS503", 'cover = "assets/cover.jpg"', 'cover = "http://cdn.example.com/cover.jpg"', '"http://'),
    ("CS601-anchor-title-width", "CS601", '[anchor]\ntitle = "基础课程"', '[anchor]\ntitle = "一二三四五六七八九十一二三"', '"一二三'),
    ("CS611-gift-type", "CS611", 'type = "virtual"', 'type = "digital"', '"digital"'),
    ("CS612-gift-pics", "CS612", 'pics = ["https://cdn.example.com/a.jpg"]', "pics = [" + ", ".join(['"https://cdn.example.com/a.jpg"'] * 9) + "]", "[\"https"),
    ("CS613-gift-policy-desc", "CS613", 'policy_desc = "退款可不退赠品"', 'policy_desc = "' + "退" * 43 + '"', '"退退'),
    ("CS614-gift-num", "CS614", "num = 1", "num = 0", "0\npics"),
    ("CS701-course-num", "CS701", "course_num = 3", "course_num = 10001", "10001"),
    ("CS702-teacher-or-institution", "CS702", 'teacher_id = "E_1"\n', "", "[course]"),
    ("CS703-refund-form", "CS703", "refund = { days_unused = 7 }", "refund = { days_unused = 7, fixed = 1 }", "{ days_unused = 7, fixed"),
    ("CS704-refund-days", "CS704", "refund = { days_unused = 7 }", "refund = { days_unused = 101 }", "101"),
    ("CS705-refund-percent", "CS705", "refund = { days_unused = 7 }", "refund = { progress_below_percent = 101 }", "101"),
    ("CS706-refund-fixed", "CS706", "refund = { days_unused = 7 }", "refund = { fixed = 0 }", "0 }"),
    ("CS707-date-form", "CS707", "valid_until = 2027-12-31", "valid_until = 2027-12-31T10:00:00", "2027-12-31T10"),
    ("CS708-start-before-end", "CS708", "end = 2027-12-01", "end = 2026-11-01", "2026-11-01"),
    ("CS801-category-unknown", "CS801", "second_class = 10300", "second_class = 10350", "10350"),
    ("CS802-category-mismatch", "CS802", "second_class = 10300", "second_class = 30100", "30100"),
]

# No lessons at all: drop the [[lessons]] blocks and write an empty top-level array.
_no_lessons = base[: base.index("[[lessons]]")] + base[base.index("[[details]]"):]
CASES.append(("CS401-lessons-required", "CS401", "listed = true", "listed = true\nlessons = []", "[]"))

out_dir = here / "invalid"
for old in out_dir.glob("*.toml"):
    old.unlink()
for name, code, old, new, at in CASES:
    assert base.count(old) >= 1, (name, old)
    src = _no_lessons if code == "CS401" else base
    body = src.replace(old, new, 1)
    if at == "":  # a finding about the whole file points at its start
        line, col = 1, 1
    else:
        assert at in body, (name, at)
        idx = body.index(at)
        line = body[:idx].count("\n") + 2  # +1 for the header line
        col = len(body[:idx].rsplit("\n", 1)[-1]) + 1
    (out_dir / f"{name}.toml").write_text(f"# expect: {code} {line}:{col}\n" + body)
print(f"wrote {len(CASES)} fixtures")
