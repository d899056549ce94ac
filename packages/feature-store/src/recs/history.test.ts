import { MemoryUserHistory } from "./history";
import { userHistoryContract } from "./history.contract";

userHistoryContract("MemoryUserHistory", (maxLength) => new MemoryUserHistory(maxLength));
