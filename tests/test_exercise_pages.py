"""What the website adds to exercise and answer-key pages (aibook.booktools.exercise_pages)."""

from aibook.booktools import exercise_pages
from aibook.booktools.publish import repository_url
from aibook.grader.banks import banks

REPO = repository_url()


def test_check_samples_are_what_check_prints_unanswered_and_answered():
    question, before, after = exercise_pages.check_samples(4)
    first = banks()[4][0]
    assert question == first.id
    assert before and after and before != after
    assert f"0/{first.points}" in before and f"{first.points}/{first.points}" in after


def test_start_box_links_colab_and_says_how_to_install_locally():
    text = exercise_pages.start_box(4, REPO, "main").astext()
    assert "怎么开始" in text
    assert f'pip install "aibook @ git+{REPO}"' in text
    box = exercise_pages.start_box(4, REPO, "main")
    uris = [node["refuri"] for node in box.findall(lambda n: "refuri" in getattr(n, "attributes", {}))]
    assert uris == ["https://colab.research.google.com/github/" + REPO.removeprefix("https://github.com/")
                    + "/blob/main/exercises/ch04.ipynb"]


def test_answer_banner_links_back_to_the_exercises():
    banner = exercise_pages.answer_banner(4)
    assert "参考答案" in banner.astext()
    assert [n["reftarget"] for n in banner.findall(lambda n: "reftarget" in getattr(n, "attributes", {}))] \
        == ["/exercises/ch04"]
