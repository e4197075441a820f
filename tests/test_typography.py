"""Chinese typography of the website: line breaks between Chinese characters, paired quotes."""

from aibook.booktools.typography import OPAQUE, typeset, typeset_string


def test_a_source_line_break_between_chinese_characters_disappears():
    assert typeset_string("算出，\n关键") == "算出，关键"
    assert typeset_string("应用、\n  工具") == "应用、工具"


def test_a_line_break_next_to_latin_text_stays_a_space():
    assert typeset_string("反向传播\nbackpropagation") == "反向传播\nbackpropagation"
    assert typeset_string("the\nend") == "the\nend"
    assert typeset_string("代码\n" + OPAQUE) == "代码\n" + OPAQUE  # code after the break: untouched


def test_spaces_around_links_go_but_the_chapter_number_separator_stays():
    assert typeset_string("汇总到 勘误表 中") == "汇总到勘误表中"
    assert typeset_string("第 4 章 数学模型") == "第 4 章 数学模型"
    assert typeset_string("见第 10 章 参考资料") == "见第 10 章 参考资料"
    assert typeset_string("形状为 输出 × 输入") == "形状为输出 × 输入"


def test_straight_quotes_in_chinese_pair_up_as_opening_and_closing():
    assert typeset_string('网络会"死掉"，再"活过来"') == "网络会“死掉”，再“活过来”"


def test_an_odd_number_of_quotes_or_english_text_is_left_alone():
    assert typeset_string('他说"好') == '他说"好'
    assert typeset_string('say "hi"') == 'say "hi"'


def test_one_replacement_per_character():
    text = '会"死"\n掉'
    assert len(typeset(text)) == len(text)


def test_the_doctree_pass_replaces_the_right_one_of_two_equal_line_breaks():
    from docutils import nodes
    from docutils.utils import new_document

    from aibook.booktools.typography import typeset_document

    document = new_document("test")
    para = nodes.paragraph()
    para += [nodes.Text("操作的"), nodes.Text("\n"), nodes.Text("CPU 上跑完，现象，"), nodes.Text("\n"),
             nodes.strong("", "", nodes.Text("正文")), nodes.literal("x", "x")]
    document += para
    typeset_document(document, quotes=True)
    assert para.astext() == "操作的\nCPU 上跑完，现象，正文x"
