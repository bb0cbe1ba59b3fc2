from ragkeeper.core.retrain.style_checks import example_rows, example_tokens, first_lines_by_hash, token_limit
from ragkeeper.core.retrain.style_dataset import parse_dataset
from tests.support.style_datasets import example, jsonl


def words(text: str) -> int:
    return len(text.split())


def test_tokens_count_framing_role_content_and_name():
    messages = [
        {"role": "user", "content": "one two three"},
        {"role": "assistant", "content": "four", "name": "bot"},
    ]
    # 3 (reply) + per message 3 + role + content, + name + 1
    assert example_tokens(messages, words) == 3 + (3 + 1 + 3) + (3 + 1 + 1 + 1 + 1)


def test_token_limit_per_model_with_configured_override():
    assert token_limit("gpt-4o-mini-2024-07-18") == 65_536
    assert token_limit("gpt-4.1-nano-2025-04-14") == 65_536
    assert token_limit("gpt-3.5-turbo-0125") == 16_385
    assert token_limit("gpt-3.5-turbo-1106") == 16_385
    assert token_limit("gpt-3.5-turbo-0613") == 4_096
    assert token_limit("my-self-hosted-llama") == 16_385
    assert token_limit("gpt-4o-mini-2024-07-18", configured=4096) == 4096


def test_rows_describe_each_line_without_judging_it():
    good, no_assistant = example(1), {"messages": [{"role": "user", "content": "hi"}]}
    rows = example_rows("training", parse_dataset(jsonl([good, no_assistant, "[1]", good])).lines, words)

    assert [row["line"] for row in rows] == [1, 2, 3, 4]
    assert (rows[0]["system_messages"], rows[0]["user_messages"], rows[0]["assistant_messages"]) == (1, 1, 1)
    assert rows[0]["json_error"] is rows[0]["messages_error"] is rows[0]["message_error"] is None
    assert rows[1]["assistant_messages"] == 0
    assert rows[2]["json_error"] == "the line is a JSON array, not an object"
    assert rows[2]["tokens"] is None and rows[2]["example_hash"] is None
    assert first_lines_by_hash(rows)[rows[0]["example_hash"]] == [1, 4]


def test_weight_is_allowed_on_assistant_messages_as_0_or_1():
    def message_error(weight):
        item = {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a", "weight": weight},
            ]
        }
        return example_rows("training", parse_dataset(jsonl([item])).lines, words)[0]["message_error"]

    assert message_error(0) is None and message_error(1) is None
    assert message_error(2) == 'message 2 "weight" is 2, not 0 or 1'
    assert message_error(True) == 'message 2 "weight" is True, not 0 or 1'
